//! The native side of msync: the pieces the `msync` binary (and its tests) are built from.

pub mod transport;
