//! Hooks on a driver's write and read paths. The self-check's faults are
//! hooks: a defect injected into the bytes a faithful shell produces, so
//! the shells and their public configurations carry no fault flags.

/// What happens after a hooked write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Carry on.
    Go,
    /// The hook cut the bytes: the shell closes the connection now.
    Close,
}

/// Sees, and may rewrite, every write but the raw ones.
pub trait WriteHook: Send {
    /// Rewrites `bytes` in place before they are written and tapped.
    fn on_write(&mut self, bytes: &mut Vec<u8>) -> WriteOutcome;
}

/// Sees, and may rewrite, every read before the decoder does (the tap
/// records what arrived, not the rewrite).
pub trait ReadHook: Send {
    /// The bytes the decoder is to see instead of `bytes`.
    fn on_read(&mut self, bytes: &[u8]) -> Vec<u8>;
}
