//! The one integration-test binary (linking is slow on 2 cores): `support/` holds the mock
//! upstream and process helpers, `suite/` the tests.

mod suite;
mod support;
