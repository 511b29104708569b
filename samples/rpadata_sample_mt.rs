// SPDX-License-Identifier: GPL-2.0

//! Sample: a multithreaded job, written against rpadata's Rust client API (`client/`).
//!
//! Fills a vmalloc'd buffer of `size_mib` MiB with a pseudo-random pattern and checksums it, once
//! with one thread and once with `threads` threads, checks that both give the same checksum and
//! prints the sizes, threads, times and the speedup. Unlike C padata's multithreaded jobs, which
//! only run during boot, this runs whenever the module is loaded.

#[path = "../client/rpadata.rs"]
mod rpadata;

use core::borrow::Borrow;
use kernel::{
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    time::{
        Instant,
        Monotonic, //
    }, //
};
use rpadata::MtParams;

module! {
    type: MtSample,
    name: "rpadata_sample_mt",
    authors: ["rpadata developers"],
    description: "rpadata sample: fill and checksum a buffer with a multithreaded job",
    license: "GPL",
    params: {
        size_mib: u32 {
            default: 64,
            description: "Buffer size in MiB (1..=1024)",
        },
        threads: u32 {
            default: 0,
            description: "Threads for the parallel run (0: one per possible CPU; 1..=nr_cpu_ids)",
        },
    },
}

struct MtSample;

/// The pattern word at index `i` (splitmix64).
fn pattern(i: usize) -> u64 {
    let mut z = (i as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fills `buf` and checksums it with `threads` threads; returns (checksum, fill µs, sum µs).
fn fill_and_sum(buf: &[Atomic<u64>], threads: u32) -> Result<(u64, i64, i64)> {
    let p = MtParams {
        start: 0,
        size: buf.len(),
        align: 512, // 4 KiB of words: chunks never share a page
        min_chunk: 1 << 15,
        max_threads: threads,
        numa_aware: true,
    };
    let t0 = Instant::<Monotonic>::now();
    rpadata::do_multithreaded(&p, |s, e| {
        for (i, w) in buf.get(s..e).ok_or(EINVAL)?.iter().enumerate() {
            w.store(pattern(s + i), Relaxed);
        }
        Ok(())
    })?;
    let fill = t0.elapsed().as_micros_ceil();
    let sum = Atomic::new(0u64);
    let t1 = Instant::<Monotonic>::now();
    rpadata::do_multithreaded(&p, |s, e| {
        let mut local = 0u64;
        for (i, w) in buf.get(s..e).ok_or(EINVAL)?.iter().enumerate() {
            local = local.wrapping_add(w.load(Relaxed) ^ ((s + i) as u64).rotate_left(17));
        }
        // One atomic add per chunk, not per word.
        sum.fetch_add(local, Relaxed);
        Ok(())
    })?;
    Ok((sum.load(Relaxed), fill, t1.elapsed().as_micros_ceil()))
}

impl kernel::Module for MtSample {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // `value()` gives `&u32` on 7.2 and `u32` on 7.3; both borrow as `u32`.
        let size_mib: u32 = *Borrow::borrow(&module_parameters::size_mib.value());
        let mut threads: u32 = *Borrow::borrow(&module_parameters::threads.value());
        let cpus = kernel::cpu::nr_cpu_ids();
        if !(1..=1024).contains(&size_mib) {
            pr_err!("size_mib={} is out of range (1..=1024)\n", size_mib);
            return Err(EINVAL);
        }
        if threads > cpus {
            pr_err!("threads={} is out of range (0..={})\n", threads, cpus);
            return Err(EINVAL);
        }
        if threads == 0 {
            threads = cpus;
        }

        let words = (size_mib as usize) << 17;
        let mut buf = VVec::with_capacity(words, GFP_KERNEL)?;
        for _ in 0..words {
            buf.push_within_capacity(Atomic::new(0u64))
                .map_err(|_| ENOMEM)?;
        }

        let (sum1, fill1, sum_us1) = fill_and_sum(&buf, 1)?;
        let (sum_n, fill_n, sum_us_n) = fill_and_sum(&buf, threads)?;
        if sum1 != sum_n {
            pr_err!(
                "checksums differ: {:#x} (1 thread) vs {:#x} ({} threads)\n",
                sum1,
                sum_n,
                threads
            );
            return Err(EIO);
        }
        let t1 = fill1 + sum_us1;
        let tn = (fill_n + sum_us_n).max(1);
        pr_info!(
            "size={} MiB threads={} checksum={:#018x} 1-thread={} us {}-threads={} us speedup={}.{:02}\n",
            size_mib,
            threads,
            sum_n,
            t1,
            threads,
            tn,
            t1 / tn,
            (t1 % tn) * 100 / tn
        );
        Ok(MtSample)
    }
}
