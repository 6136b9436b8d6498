//! Scheduling hints for bifrost's own threads: request threads get the core soon after they
//! wake, background work gives it up quickly.
//!
//! Linux's scheduler (EEVDF, 6.6 and later) lets a running thread use up its time slice
//! (1.4 ms on this 2-CPU machine) before a thread that just woke may take the core, unless
//! the woken one asked for a shorter slice. Since Linux 6.12 a thread may do that
//! (`sched_attr.sched_runtime` under `SCHED_OTHER`, no privilege needed). The gateway's
//! request threads ask for the shortest slice, so on a busy machine (a build, Codex itself,
//! a model server) a request waits about 0.1 ms for the core instead of up to a whole slice.
//! The log writer asks for it too, at nice 10, so it gives the core up as quickly.
//!
//! Both are best effort and keep the nice value the user started bifrost with (the writer
//! goes to at least 10). A kernel older than 6.12 ignores the slice; a sandbox that refuses
//! the call leaves the thread as it was (the writer still gets its nice value). Processes started from these threads do not
//! inherit the hint (`SCHED_FLAG_RESET_ON_FORK`).

/// The shortest slice Linux accepts for a `SCHED_OTHER` thread.
#[cfg(target_os = "linux")]
const MIN_SLICE_NS: u64 = 100_000;

/// `SCHED_FLAG_RESET_ON_FORK`: children start with the default policy, nice and slice.
#[cfg(target_os = "linux")]
const RESET_ON_FORK: u64 = 0x01;

/// Makes the calling thread background work: nice 10 and, where the kernel allows, the
/// shortest time slice.
pub fn background() {
    #[cfg(target_os = "linux")]
    {
        let nice = current_nice().max(10);
        if !set_attr(nice, MIN_SLICE_NS) {
            set_nice(nice);
        }
    }
}

/// Marks the calling thread as serving requests: the shortest time slice, where the kernel
/// allows it, so that on a busy core it runs soon after it wakes.
pub fn latency_sensitive() {
    #[cfg(target_os = "linux")]
    set_attr(current_nice(), MIN_SLICE_NS);
}

/// `struct sched_attr` as the kernel reads it (`SCHED_ATTR_SIZE_VER0`, 48 bytes).
#[cfg(target_os = "linux")]
#[repr(C)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
}

/// `sched_setattr(2)` on the calling thread: `SCHED_OTHER` with `nice` and a slice of
/// `slice_ns`. False when the kernel refused (older than 6.12, or a sandbox).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn set_attr(nice: i32, slice_ns: u64) -> bool {
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy: nix::libc::SCHED_OTHER as u32,
        flags: RESET_ON_FORK,
        nice,
        priority: 0,
        runtime: slice_ns,
        deadline: 0,
        period: 0,
    };
    // SAFETY: the kernel reads `attr.size` bytes from a live, correctly laid out struct;
    // pid 0 names the calling thread.
    let rc = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_sched_setattr,
            0,
            &attr as *const SchedAttr,
            0u32,
        )
    };
    rc == 0
}

/// The calling thread's id as `getpriority`/`setpriority` take it (with `PRIO_PROCESS`, a
/// thread id names that thread alone: Linux schedules threads as tasks).
#[cfg(target_os = "linux")]
fn this_thread() -> Option<nix::libc::id_t> {
    nix::libc::id_t::try_from(nix::unistd::gettid().as_raw()).ok()
}

/// The calling thread's nice value (0 when it cannot be read).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn current_nice() -> i32 {
    let Some(tid) = this_thread() else {
        return 0;
    };
    // SAFETY: getpriority only reads its integer arguments. An error (-1 with errno set)
    // cannot happen for our own thread id, and -1 is then read as nice -1, which is harmless.
    unsafe { nix::libc::getpriority(nix::libc::PRIO_PROCESS, tid) }
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn set_nice(nice: i32) {
    let Some(tid) = this_thread() else {
        return;
    };
    // SAFETY: setpriority only reads its integer arguments.
    let _ = unsafe { nix::libc::setpriority(nix::libc::PRIO_PROCESS, tid, nice) };
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The nice value and slice (ns) a `/proc/<pid>/task/<tid>` directory reports.
    fn read_sched(task: &str) -> (i32, Option<u64>) {
        let stat = std::fs::read_to_string(format!("{task}/stat")).unwrap_or_default();
        // Fields after the parenthesised name: state is field 3, nice field 19.
        let after = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
        let nice = after
            .split(' ')
            .nth(16)
            .and_then(|n| n.parse().ok())
            .unwrap_or(i32::MIN);
        let sched = std::fs::read_to_string(format!("{task}/sched")).unwrap_or_default();
        (nice, slice_of(&sched))
    }

    /// `se.slice` from a `/proc/.../sched` text (kernels with EEVDF print it).
    fn slice_of(sched: &str) -> Option<u64> {
        sched
            .lines()
            .find(|l| l.starts_with("se.slice"))
            .and_then(|l| l.split(':').nth(1))
            .and_then(|v| v.trim().parse().ok())
    }

    fn this_thread() -> String {
        format!("/proc/self/task/{}", nix::unistd::gettid().as_raw())
    }

    /// Whether this kernel honours a per-thread slice (Linux 6.12 and later).
    fn kernel_has_custom_slices() -> bool {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let mut parts = release
            .trim()
            .split(['.', '-'])
            .map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        (major, minor) >= (6, 12)
    }

    /// Runs `hint` on a fresh thread; returns its nice value before, then its nice and slice.
    fn after(hint: fn()) -> (i32, i32, Option<u64>) {
        std::thread::spawn(move || {
            let before = current_nice();
            hint();
            let (nice, slice) = read_sched(&this_thread());
            (before, nice, slice)
        })
        .join()
        .unwrap_or((0, i32::MIN, None))
    }

    #[test]
    fn background_threads_get_nice_10_and_the_shortest_slice() {
        let (before, nice, slice) = after(background);
        assert_eq!(nice, before.max(10));
        if kernel_has_custom_slices() {
            assert_eq!(slice, Some(MIN_SLICE_NS));
        }
    }

    #[test]
    fn request_threads_keep_their_nice_value_and_get_the_shortest_slice() {
        let (before, nice, slice) = after(latency_sensitive);
        assert_eq!(nice, before);
        if kernel_has_custom_slices() {
            assert_eq!(slice, Some(MIN_SLICE_NS));
        }
    }

    #[test]
    fn processes_started_from_a_hinted_thread_do_not_inherit_the_hint() {
        if !kernel_has_custom_slices() {
            return;
        }
        let child = std::thread::spawn(|| {
            background();
            std::process::Command::new("cat")
                .arg("/proc/self/sched")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        })
        .join();
        let sched = match child {
            Ok(Ok(text)) => text,
            other => panic!("could not run cat: {other:?}"),
        };
        let slice = slice_of(&sched);
        assert!(slice.is_some(), "no se.slice in {sched}");
        assert_ne!(
            slice,
            Some(MIN_SLICE_NS),
            "the child inherited the short slice"
        );
    }
}
