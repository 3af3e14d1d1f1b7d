//! libaegis: the C ABI (work in progress, see issue 5).
