// SPDX-License-Identifier: GPL-2.0

//! Sample: serialized jobs, written against rpadata's Rust client API (`client/`).
//!
//! Submits `jobs` "packets" to one shell of an instance; each one's parallel phase hashes a small
//! payload on some CPU, and the serial callbacks, which rpadata runs in submission order, check that
//! order and fold the hashes into a running digest. Loading prints the digest, which is the same as
//! one computed serially.

#[path = "../client/rpadata.rs"]
mod rpadata;

use core::borrow::Borrow;
use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, //
    }, //
};
use rpadata::{
    Instance,
    Job,
    JobBox,
    Pending, //
};

module! {
    type: SerialSample,
    name: "rpadata_sample_serial",
    authors: ["rpadata developers"],
    description: "rpadata sample: ordered parallel processing of packets",
    license: "GPL",
    params: {
        jobs: u32 {
            default: 10000,
            description: "Packets to process (1..=1000000)",
        },
    },
}

/// What the serial callbacks share.
struct Digest {
    next: Atomic<u64>,
    digest: Atomic<u64>,
    out_of_order: Atomic<u64>,
}

struct Packet {
    index: u64,
    hash: u64,
    digest: Arc<Digest>,
}

fn hash(index: u64) -> u64 {
    let mut h = index ^ 0xcbf2_9ce4_8422_2325;
    for _ in 0..64 {
        h = (h ^ (h >> 29)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn fold(digest: u64, h: u64) -> u64 {
    digest.rotate_left(5) ^ h
}

impl Job for Packet {
    fn parallel(mut job: Pending<Self>) {
        job.hash = hash(job.index);
        // Dropping `job` hands it to serialization.
    }

    fn serial(job: JobBox<Self>) {
        let d = &job.digest;
        // Serial callbacks of one shell that share a CPU never run concurrently, and this sample
        // uses one callback CPU: plain load/store is enough.
        if d.next.load(Relaxed) != job.index {
            d.out_of_order.add(1, Relaxed);
        }
        d.next.store(job.index + 1, Relaxed);
        d.digest
            .store(fold(d.digest.load(Relaxed), job.hash), Relaxed);
    }
}

struct SerialSample;

impl kernel::Module for SerialSample {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // `value()` gives `&u32` on 7.2 and `u32` on 7.3; both borrow as `u32`.
        let n: u32 = *Borrow::borrow(&module_parameters::jobs.value());
        if !(1..=1_000_000).contains(&n) {
            pr_err!("jobs={} is out of range (1..=1000000)\n", n);
            return Err(EINVAL);
        }
        let digest = Arc::new(
            Digest {
                next: Atomic::new(0),
                digest: Atomic::new(0),
                out_of_order: Atomic::new(0),
            },
            GFP_KERNEL,
        )?;
        let inst = Instance::new(c"sample_serial")?;
        let shell = inst.new_shell()?;
        let mut cb_cpu = 0;
        for index in 0..u64::from(n) {
            let job = JobBox::new(
                Packet {
                    index,
                    hash: 0,
                    digest: digest.clone(),
                },
                GFP_KERNEL,
            )?;
            cb_cpu = shell.do_parallel(job, cb_cpu as i32).map_err(|(e, _)| e)?;
        }
        // Freeing the shell waits for every serial callback.
        drop(shell);
        drop(inst);

        let expected = (0..u64::from(n)).fold(0, |d, i| fold(d, hash(i)));
        let got = digest.digest.load(Relaxed);
        let bad = digest.out_of_order.load(Relaxed);
        let ok = got == expected && bad == 0;
        let verdict = if ok {
            "matches the serial digest"
        } else {
            "WRONG"
        };
        pr_info!(
            "jobs={} serialized={} out_of_order={} digest={:#018x} ({})\n",
            n,
            digest.next.load(Relaxed),
            bad,
            got,
            verdict
        );
        if got != expected || bad != 0 {
            return Err(EIO);
        }
        Ok(SerialSample)
    }
}
