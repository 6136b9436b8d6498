//! A Responses request as typed shapes that borrow from the body: decoding a 50 KB Codex
//! request into these costs a fraction of a `serde_json::Value` tree (no map per object, no
//! copy of a string without escapes, unknown fields skipped unread). Tool schemas stay JSON
//! text (`RawValue`); structured-output schemas and a few small fields become `Value`s.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// An optional string field.
pub(super) type Str<'a> = Option<Txt<'a>>;

/// A string, borrowed from the body when it holds no escapes. (`#[serde(borrow)]` borrows
/// only a bare `Cow` field, not one inside an `Option`.)
pub(super) struct Txt<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Txt<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Txt<'_> {
    pub fn into_string(self) -> String {
        self.0.into_owned()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Txt<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Txt<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Txt(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Txt(Cow::Owned(s.to_string())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(Txt(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

/// The request body. Fields not named here (`include`, `store`, `client_metadata`, ...) are
/// skipped.
#[derive(Deserialize)]
pub(super) struct Body<'a> {
    #[serde(borrow)]
    pub model: Str<'a>,
    pub stream: Option<bool>,
    pub max_output_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub parallel_tool_calls: Option<bool>,
    #[serde(borrow)]
    pub prompt_cache_key: Str<'a>,
    #[serde(borrow)]
    pub previous_response_id: Option<&'a RawValue>,
    #[serde(borrow)]
    pub instructions: Str<'a>,
    #[serde(borrow)]
    pub reasoning: Option<ReasoningConfig<'a>>,
    pub text: Option<TextConfig>,
    #[serde(borrow)]
    pub tools: Option<Vec<ToolDef<'a>>>,
    #[serde(borrow)]
    pub input: Option<TextOr<'a, Item<'a>>>,
    pub tool_choice: Option<Value>,
}

/// `reasoning`: effort and summary.
#[derive(Deserialize)]
pub(super) struct ReasoningConfig<'a> {
    #[serde(borrow)]
    pub effort: Str<'a>,
    #[serde(borrow)]
    pub summary: Str<'a>,
}

/// `text`: only its `format` matters here.
#[derive(Deserialize)]
pub(super) struct TextConfig {
    pub format: Option<Value>,
}

/// One entry of `tools` (or of a namespace's or an `additional_tools` item's `tools`).
#[derive(Deserialize)]
pub(super) struct ToolDef<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub name: Str<'a>,
    #[serde(borrow)]
    pub description: Str<'a>,
    pub parameters: Option<Box<RawValue>>,
    pub strict: Option<bool>,
    /// A custom tool's grammar: `{syntax, definition}`.
    pub format: Option<Value>,
    #[serde(borrow)]
    pub tools: Option<Vec<ToolDef<'a>>>,
}

/// One input item, every type's fields in one flat shape (`type` says which apply).
#[derive(Deserialize)]
pub(super) struct Item<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub role: Str<'a>,
    #[serde(borrow)]
    pub content: Option<TextOr<'a, ContentPart<'a>>>,
    #[serde(borrow)]
    pub summary: Option<Vec<ContentPart<'a>>>,
    #[serde(borrow)]
    pub encrypted_content: Str<'a>,
    #[serde(borrow)]
    pub namespace: Str<'a>,
    #[serde(borrow)]
    pub name: Str<'a>,
    /// A custom tool call's input.
    #[serde(borrow)]
    pub input: Str<'a>,
    #[serde(borrow)]
    pub arguments: Str<'a>,
    #[serde(borrow)]
    pub call_id: Str<'a>,
    /// A tool output: a string, an array of parts, or any JSON.
    #[serde(borrow)]
    pub output: Option<&'a RawValue>,
    #[serde(borrow)]
    pub tools: Option<Vec<ToolDef<'a>>>,
}

/// A content part of a message, a reasoning summary or a tool output.
#[derive(Deserialize)]
pub(super) struct ContentPart<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Str<'a>,
    #[serde(borrow)]
    pub text: Str<'a>,
    #[serde(borrow)]
    pub refusal: Str<'a>,
    pub image_url: Option<Value>,
}

/// A field that is either plain text or an array (`input`, a message's `content`). Any other
/// JSON type is `Other`, which callers treat as the field's wrong-type case.
pub(super) enum TextOr<'a, T> {
    Text(Cow<'a, str>),
    List(Vec<T>),
    Other,
}

impl<'de: 'a, 'a, T: Deserialize<'de>> Deserialize<'de> for TextOr<'a, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a, T>(PhantomData<(&'a (), T)>);
        impl<'de: 'a, 'a, T: Deserialize<'de>> Visitor<'de> for V<'a, T> {
            type Value = TextOr<'a, T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(TextOr::Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(TextOr::Text(Cow::Owned(s.to_string())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(TextOr::Text(Cow::Owned(s)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(x) = seq.next_element()? {
                    out.push(x);
                }
                Ok(TextOr::List(out))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(TextOr::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(TextOr::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(TextOr::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(TextOr::Other)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(TextOr::Other)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A string field's text, or "" when absent.
pub(super) fn text<'s>(s: &'s Str<'_>) -> &'s str {
    s.as_deref().unwrap_or_default()
}

/// A string field's text, owned, or "" when absent.
pub(super) fn owned(s: Str<'_>) -> String {
    s.map(Txt::into_string).unwrap_or_default()
}
