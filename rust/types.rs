// SPDX-License-Identifier: GPL-2.0

//! The plain types of rpadata's safe API: which mask, and the description of a multithreaded job.
//!
//! Shared with `client/`, which compiles this file into other modules (over the C ABI): it uses
//! nothing of the crate.

use kernel::prelude::*;

/// Which of an instance's two masks; the values are those of the C ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum MaskType {
    /// The CPUs that may run serial callbacks (`RPADATA_CPU_SERIAL`).
    Serial = 0x01,
    /// The CPUs that may run parallel callbacks (`RPADATA_CPU_PARALLEL`).
    Parallel = 0x02,
}

impl MaskType {
    /// Converts the C ABI value; anything else is `EINVAL`.
    pub fn from_raw(v: i32) -> Result<Self> {
        match v {
            0x01 => Ok(Self::Serial),
            0x02 => Ok(Self::Parallel),
            _ => Err(EINVAL),
        }
    }
}

/// The description of a multithreaded job (`struct padata_mt_job` without the function).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MtParams {
    /// First index.
    pub start: usize,
    /// Number of indices; `start + size` must not overflow.
    pub size: usize,
    /// Chunk boundaries are multiples of this (a power of two; 0 means 1).
    pub align: usize,
    /// Smallest chunk worth a thread.
    pub min_chunk: usize,
    /// Most threads to use, the caller included (at least 1).
    pub max_threads: u32,
    /// Spread helpers round-robin over the NUMA nodes that have CPUs.
    pub numa_aware: bool,
}

impl MtParams {
    /// A job over `[start, start + size)` with one thread per CPU and no alignment.
    pub fn new(start: usize, size: usize) -> Self {
        Self {
            start,
            size,
            align: 1,
            min_chunk: 1,
            max_threads: kernel::cpu::nr_cpu_ids(),
            numa_aware: false,
        }
    }
}
