// SPDX-License-Identifier: GPL-2.0

//! What the Rust KUnit API of 7.2 lacks (tests only).
//!
//! C header: [`include/kunit/test.h`](srctree/include/kunit/test.h).

use crate::ffi;
use kernel::prelude::*;

/// Marks the KUnit test case in progress as skipped, with `reason` (tests only): KTAP then reports
/// it as `# SKIP` instead of a pass. The Rust KUnit API of 7.2 has no skip.
pub(crate) fn kunit_skip(reason: &CStr) {
    // SAFETY: `reason` is NUL-terminated; KUnit copies it.
    unsafe { ffi::rpadata_shim_kunit_skip(reason.as_char_ptr()) }
}
