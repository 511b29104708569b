// SPDX-License-Identifier: GPL-2.0

//! Instances: a pair of workqueues, the user and usable cpumasks, and the shells using them.
//!
//! Replaces `struct padata_instance`, `padata_alloc()`, `padata_free()` and
//! `padata_set_cpumask()` of kernel/padata.c. Where C padata replaces a whole `parallel_data` per
//! shell under RCU when a mask changes, rpadata replaces only the usable-CPU snapshot: jobs carry
//! their CPUs with them and each shell keeps its reorder list and serial queues, so a change has
//! nothing to migrate and cannot lose or reorder a job — and submissions racing with it never see
//! C padata's `-EBUSY`.

use crate::{
    cpumask::{
        self,
        Usable, //
    },
    params,
    queue::{
        JobQueue,
        Parallel, //
    },
    sys::{
        self,
        cpuhp,
        CpusReadGuard,
        RcuBox,
        SysfsDir,
        Workqueue,
        WqFlags, //
    },
    types::MaskType, //
};
use kernel::{
    cpumask::{
        Cpumask,
        CpumaskVar, //
    },
    new_mutex,
    prelude::*,
    str::CString,
    sync::{
        atomic::{
            Atomic,
            Relaxed,
            Release, //
        },
        Arc,
        Mutex, //
    }, //
};

mod shell;

pub use shell::{
    boxed::{
        Job,
        JobBox,
        Pending, //
    },
    Shell,
    ShellStats, //
};
pub(crate) use shell::{
    do_serial,
    ShellCore, //
};

/// Longest instance name: `<name>_parallel` must fit a workqueue name (31 characters).
pub(crate) const NAME_MAX: usize = 22;

kernel::sync::global_lock! {
    // SAFETY: Initialised by `Registered::new()` in module init, before any other use.
    unsafe(uninit) static REGISTRY: Mutex<Registry> = Registry::new();
}

/// Every instance, until it is freed (closed ones included: their names stay taken), and the
/// sysfs root they live under.
pub(crate) struct Registry {
    root: Option<SysfsDir>,
    instances: KVec<Arc<InstanceCore>>,
}

impl Registry {
    const fn new() -> Self {
        Self {
            root: None,
            instances: KVec::new(),
        }
    }
}

/// The registry and `/sys/kernel/rpadata` while the module is loaded; torn down when dropped.
pub(crate) struct Registered(());

impl Registered {
    /// Sets up the registry and its sysfs root.
    ///
    /// # Safety
    ///
    /// Must be called once, from module init, before anything else in this file.
    pub(crate) unsafe fn new() -> Result<Self> {
        // SAFETY: Called once, first (safety requirements).
        unsafe { REGISTRY.init() };
        REGISTRY.lock().root = Some(SysfsDir::new_in_kernel(c"rpadata")?);
        Ok(Self(()))
    }
}

impl Drop for Registered {
    /// Removes `/sys/kernel/rpadata`. Every instance is gone by then: users of the C ABI hold a
    /// reference on the module, and in-module users free theirs first.
    fn drop(&mut self) {
        let mut r = REGISTRY.lock();
        kernel::warn_on!(!r.instances.is_empty());
        // The static is never dropped: free the list's buffer (removals keep it) here, or every
        // load of the module leaks it.
        r.instances = KVec::new();
        r.root = None;
    }
}

/// The live instance called `name`, if any (not one being freed).
pub(crate) fn lookup(name: &CStr) -> Option<Arc<InstanceCore>> {
    REGISTRY
        .lock()
        .instances
        .iter()
        .find(|i| i.name() == name && !i.is_closed())
        .cloned()
}

/// The registry hears the CPU events of its instances.
impl cpuhp::Callbacks for Registry {
    /// Recomputes the usable masks of the instance whose node is `node` with `cpu` online or not.
    /// Runs under the CPU hotplug lock, which is taken before the registry lock.
    fn cpu_event(node: cpuhp::NodeId, cpu: u32, online: bool) {
        let inst = REGISTRY
            .lock()
            .instances
            .iter()
            .find(|i| i.hotplug.id() == node)
            .cloned();
        if let Some(inst) = inst {
            if let Err(e) = inst.cpu_event(cpu, online) {
                // The previous masks stay; jobs on a CPU that went away still run elsewhere.
                pr_warn!(
                    "{:?}: could not update usable masks for CPU {} ({:?})\n",
                    inst.name(),
                    cpu,
                    e
                );
            }
        }
    }
}

/// Whether `name` is a valid instance name: 1 to [`NAME_MAX`] characters from `[A-Za-z0-9_.-]`,
/// not starting with a dot (it names a sysfs directory and two workqueues).
fn valid_name(name: &CStr) -> bool {
    let b = name.to_bytes();
    !b.is_empty()
        && b.len() <= NAME_MAX
        && b[0] != b'.'
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.')
}

/// The masks a user asked for.
///
/// Boxed, because a `Cpumask` is pinned (it may be shared with C) and lock guards only give
/// mutable access to movable data.
struct UserMasks {
    parallel: KBox<CpumaskVar>,
    serial: KBox<CpumaskVar>,
}

// SAFETY: A `CpumaskVar` owns its bitmap (inline, or allocated with `CONFIG_CPUMASK_OFFSTACK`),
// which may be used and freed from any thread; the kernel crate of 7.2 does not mark it `Send`
// in the allocated case.
unsafe impl Send for UserMasks {}

impl UserMasks {
    /// The mask of `which`.
    fn mask_mut(&mut self, which: MaskType) -> &mut KBox<CpumaskVar> {
        match which {
            MaskType::Parallel => &mut self.parallel,
            MaskType::Serial => &mut self.serial,
        }
    }
}

/// An instance, shared by its handle and its shells.
///
/// # Invariants
///
/// - `pqueues` has one queue per CPU id below `nr_cpu_ids`, indexed by CPU id; their workqueue
///   lives in the [`Instance`] handle until every shell of the instance is drained.
/// - `usable` is computed from `user` and the online CPUs, and replaced under `user`'s lock.
/// - `closed` is set once, under `shells`' lock; no shell joins `shells` after it.
/// - `hotplug` is on the module's hotplug state from the end of [`Instance::new_with`] until
///   [`Instance`]'s `drop`.
#[pin_data]
pub(crate) struct InstanceCore {
    name: CString,
    #[pin]
    user: Mutex<UserMasks>,
    /// Read on the submission path under RCU; replaced under `user`'s lock.
    pub(crate) usable: RcuBox<Usable>,
    max_in_flight: u32,
    /// See [`InstanceOptions::parallel_local`].
    parallel_local: bool,
    /// Parallel queues, indexed by CPU id.
    pqueues: KVec<Arc<JobQueue<Parallel>>>,
    next_shell_id: Atomic<u32>,
    #[pin]
    shells: Mutex<KVec<Arc<ShellCore>>>,
    /// Set (under `shells`' lock) when the instance is being freed: no new shell joins, sysfs no
    /// longer finds it, and its shells' gates close as they drain.
    closed: Atomic<bool>,
    #[pin]
    hotplug: cpuhp::Node,
}

impl InstanceCore {
    /// The name given at allocation.
    pub(crate) fn name(&self) -> &CStr {
        &self.name
    }

    /// The limit of jobs in each shell of the instance that are not yet passed on to their serial
    /// queue.
    pub(crate) fn max_in_flight(&self) -> u32 {
        self.max_in_flight
    }

    /// Whether the submitter's CPU takes its turns of parallel callbacks from its own queue.
    pub(crate) fn parallel_local(&self) -> bool {
        self.parallel_local
    }

    /// The parallel queue of `cpu`.
    pub(crate) fn parallel_queue(&self, cpu: u32) -> Option<&Arc<JobQueue<Parallel>>> {
        self.pqueues.get(cpu as usize)
    }

    /// The hotplug node, pinned.
    pub(crate) fn hotplug_node(self: &Arc<Self>) -> Pin<&cpuhp::Node> {
        // SAFETY: The object an `Arc` points to is always pinned (`kernel::sync::Arc`), and
        // `hotplug` is a structurally pinned field (`#[pin]`).
        unsafe { Pin::new_unchecked(&self.hotplug) }
    }

    /// Whether jobs can be submitted now.
    pub(crate) fn is_valid(&self) -> bool {
        !self.is_closed() && self.usable.read(&kernel::sync::rcu::read_lock()).is_valid()
    }

    /// Whether the instance is being freed.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    /// Jobs submitted to the instance's shells and not yet serialized (approximate while they
    /// come and go).
    pub(crate) fn in_flight(&self) -> u64 {
        self.shells
            .lock()
            .iter()
            .map(|s| u64::from(s.in_flight_users()))
            .sum()
    }

    /// Recomputes the usable masks from the user masks and `online`, the CPUs to count as online.
    ///
    /// The caller holds the CPU hotplug lock (taken before the instance lock, always) or is a
    /// hotplug callback.
    fn refresh_usable(&self, user: &UserMasks, online: &Cpumask) -> Result {
        let usable = Usable::new(&user.parallel, &user.serial, online)?;
        self.usable.replace(KBox::new(usable, GFP_KERNEL)?);
        Ok(())
    }

    /// Hotplug: `cpu` is coming online (already in the online mask) or going offline (still in
    /// it). Called under the CPU hotplug lock.
    fn cpu_event(&self, cpu: u32, online: bool) -> Result {
        let mut cpus = cpumask::clone_mask(sys::cpu_online_mask())?;
        let id = kernel::cpu::CpuId::from_u32(cpu).ok_or(EINVAL)?;
        if online {
            cpus.set(id);
        } else {
            cpus.clear(id);
        }
        self.refresh_usable(&self.user.lock(), &cpus)
    }

    /// A copy of one usable mask.
    pub(crate) fn usable_mask(&self, which: MaskType) -> Result<CpumaskVar> {
        let guard = kernel::sync::rcu::read_lock();
        let usable = self.usable.read(&guard);
        let cpus = match which {
            MaskType::Parallel => usable.parallel(),
            MaskType::Serial => usable.serial(),
        };
        cpumask::mask_of(cpus)
    }

    /// The attached shell with id `id`.
    pub(crate) fn shell(&self, id: u32) -> Option<Arc<ShellCore>> {
        self.shells.lock().iter().find(|s| s.id() == id).cloned()
    }

    /// Replaces one user mask. An empty mask is refused with `EINVAL` and changes nothing; a mask
    /// without an online CPU is accepted and makes the instance invalid until one comes online.
    pub(crate) fn set_cpumask(&self, which: MaskType, mask: &Cpumask) -> Result {
        if cpumask::is_empty(mask) {
            return Err(EINVAL);
        }
        let new = KBox::new(cpumask::clone_mask(mask)?, GFP_KERNEL)?;
        let _cpus = CpusReadGuard::new();
        let mut user = self.user.lock();
        let old = core::mem::replace(user.mask_mut(which), new);
        if let Err(e) = self.refresh_usable(&user, sys::cpu_online_mask()) {
            *user.mask_mut(which) = old;
            return Err(e);
        }
        Ok(())
    }

    /// A copy of one user mask.
    pub(crate) fn user_mask(&self, which: MaskType) -> Result<CpumaskVar> {
        cpumask::clone_mask(self.user.lock().mask_mut(which))
    }

    /// Forgets a freed shell.
    pub(crate) fn remove_shell(&self, shell: &Arc<ShellCore>) {
        remove_arc(&mut self.shells.lock(), shell);
    }
}

/// Removes `item` from `list`, which holds it at most once. Not `KVec::retain`, whose swaps keep
/// bounds checks (panic paths) in the module.
fn remove_arc<T>(list: &mut KVec<Arc<T>>, item: &Arc<T>) {
    if let Some(i) = list.iter().position(|x| Arc::ptr_eq(x, item)) {
        let _ = list.remove(i);
    }
}

/// Options for [`Instance::new_with`].
#[derive(Clone, Copy, Debug)]
pub struct InstanceOptions {
    /// Jobs of a shell not yet passed on to their serial queue (in their parallel phase or waiting
    /// for an earlier job) before `do_parallel` runs parallel callbacks in the submitter (default:
    /// the `max_in_flight` module parameter).
    pub max_in_flight: u32,
    /// Run serial callbacks from softirq context, a BH workqueue (`WQ_BH`), instead of from a
    /// worker with softirqs disabled (default: `false`).
    ///
    /// A worker on a CPU busy with another task runs when that task is preempted, at the next
    /// scheduler tick under `PREEMPT_LAZY`; BH work runs as soon as the CPU leaves the interrupt
    /// or softirq-disabled section it is in. That cuts the latency of jobs whose callback CPU is
    /// busy, at the price of an inter-processor interrupt for each release to another CPU whose
    /// serial queue was idle (see "Serial callbacks from softirq context" in
    /// Documentation/rpadata.rst). The callbacks' rules do not change: they run with softirqs
    /// disabled, must not sleep, and run on their callback CPU while it is online.
    pub serial_softirq: bool,
    /// Spread the parallel callbacks round-robin over all the usable parallel CPUs, the
    /// submitting one included, instead of handing the turns that fall on the submitting CPU to
    /// the others (default: `false`).
    ///
    /// The submitter's turns wait in its CPU's parallel queue and run once it waits, returns or is
    /// preempted: it first submits the rest of its burst, and the other CPUs start on theirs at
    /// once. For submitters that submit a few jobs and then wait or return (a crypto user, a
    /// network softirq); one that loops submitting is better served by the default. See
    /// Documentation/rpadata.rst, "Jobs in flight and the in-flight limit".
    pub parallel_local: bool,
}

impl Default for InstanceOptions {
    fn default() -> Self {
        Self {
            max_in_flight: params::Params::from_module().map_or(1000, |p| p.max_in_flight),
            serial_softirq: false,
            parallel_local: false,
        }
    }
}

/// The parallel workqueue of instance `name`.
///
/// Both of an instance's workqueues are per-CPU (bound): a module cannot call
/// `apply_workqueue_attrs()` to confine an unbound workqueue to a cpumask as C padata does, so
/// rpadata chooses the CPU of every work item itself and queues it there. No rescuer thread (a
/// kthread, 16 KiB of stack, per instance), as for C padata's parallel workqueue: parallel
/// callbacks never sleep, and when queued jobs wait for a worker the in-flight limit soon has the
/// submitters run new ones themselves.
fn parallel_workqueue(name: &CStr) -> Result<Workqueue> {
    Workqueue::new(name, c"_parallel", WqFlags::PERCPU, 0)
}

/// The serial workqueue of instance `name`: from softirq context (`WQ_BH`, which takes neither a
/// rescuer nor a `max_active`), or with a rescuer, since serial callbacks give the jobs and the
/// memory they hold back to their owners, and one work item at a time per CPU.
fn serial_workqueue(name: &CStr, softirq: bool) -> Result<Workqueue> {
    if softirq {
        Workqueue::new(name, c"_serial", WqFlags::PERCPU | WqFlags::BH, 0)
    } else {
        Workqueue::new(name, c"_serial", WqFlags::PERCPU | WqFlags::MEM_RECLAIM, 1)
    }
}

/// An rpadata instance: its own parallel and serial workqueues, cpumasks, and shells.
///
/// Dropping it sleeps until every job submitted through any of its shells has been serialized,
/// then destroys its workqueues; shells still held afterwards refuse new jobs with `EINVAL`.
pub struct Instance {
    core: Arc<InstanceCore>,
    // Dropped in this order after `drop` drained the instance: sysfs directories (removing them
    // waits for any file access in progress), then the workqueues, boxed so that the pointers the
    // job queues hold stay valid until then.
    shells_dir: SysfsDir,
    _dir: SysfsDir,
    _parallel_wq: KBox<Workqueue>,
    serial_wq: KBox<Workqueue>,
    // Last: the name is taken until nothing named after it is left.
    _listed: Listed,
}

/// An instance's entry in the registry: its name stays taken (`EEXIST`) until this is dropped.
struct Listed(Arc<InstanceCore>);

impl Drop for Listed {
    fn drop(&mut self) {
        remove_arc(&mut REGISTRY.lock().instances, &self.0);
    }
}

impl Instance {
    /// Allocates an instance called `name` with default options.
    ///
    /// Errors: `EINVAL` for a bad name, `EEXIST` if the name is in use, `ENOMEM`.
    pub fn new(name: &CStr) -> Result<Self> {
        Self::new_with(name, InstanceOptions::default())
    }

    /// Allocates an instance called `name`.
    pub fn new_with(name: &CStr, opts: InstanceOptions) -> Result<Self> {
        if !valid_name(name) || !params::MAX_IN_FLIGHT.contains(&opts.max_in_flight) {
            return Err(EINVAL);
        }
        let parallel_wq = KBox::new(parallel_workqueue(name)?, GFP_KERNEL)?;
        let serial_wq = KBox::new(serial_workqueue(name, opts.serial_softirq)?, GFP_KERNEL)?;
        let user = UserMasks {
            parallel: KBox::new(cpumask::possible_mask()?, GFP_KERNEL)?,
            serial: KBox::new(cpumask::possible_mask()?, GFP_KERNEL)?,
        };
        let poll_us = params::Params::from_module()?.poll_us;
        // SAFETY: `parallel_wq` is destroyed only after every shell was drained (`Instance::drop`),
        // and `destroy_workqueue()` waits for the queues' work.
        let pqueues = unsafe { JobQueue::per_cpu(&parallel_wq, poll_us) }?;
        let cpus = CpusReadGuard::new();
        let usable = Usable::new(&user.parallel, &user.serial, sys::cpu_online_mask())?;

        let mut reg = REGISTRY.lock();
        if reg.instances.iter().any(|i| i.name() == name) {
            return Err(EEXIST);
        }
        let root = reg.root.as_ref().ok_or(ENODEV)?;
        let dir = root.new_child(name)?;
        dir.add_files(false)?;
        let shells_dir = dir.new_child(c"shells")?;
        let core = Arc::pin_init(
            try_pin_init!(InstanceCore {
                name: CString::try_from(name)?,
                user <- new_mutex!(user, "rpadata_instance_masks"),
                usable: RcuBox::new(KBox::new(usable, GFP_KERNEL)?),
                max_in_flight: opts.max_in_flight,
                parallel_local: opts.parallel_local,
                pqueues,
                next_shell_id: Atomic::new(0),
                shells <- new_mutex!(KVec::new(), "rpadata_instance_shells"),
                closed: Atomic::new(false),
                hotplug <- cpuhp::Node::new(),
            }),
            GFP_KERNEL,
        )?;
        reg.instances.push(core.clone(), GFP_KERNEL)?;
        drop(reg);
        drop(cpus);
        // From here on, `Drop` undoes everything on an error.
        let this = Self {
            _listed: Listed(core.clone()),
            core,
            shells_dir,
            _dir: dir,
            _parallel_wq: parallel_wq,
            serial_wq,
        };
        // Adding to the hotplug state takes the hotplug lock itself; a CPU that came or went
        // since the masks were computed is caught by the refresh below.
        this.core.hotplug_node().add()?;
        {
            let _cpus = CpusReadGuard::new();
            let user = this.core.user.lock();
            this.core.refresh_usable(&user, sys::cpu_online_mask())?;
        }
        Ok(this)
    }

    #[cfg(rpadata_kunit)]
    pub(crate) fn core(&self) -> &Arc<InstanceCore> {
        &self.core
    }

    /// Allocates a shell: an independent ordered stream of jobs.
    pub fn new_shell(&self) -> Result<Shell> {
        let id = self.core.next_shell_id.fetch_add(1, Relaxed);
        let shell = ShellCore::new(self.core.clone(), id, &self.shells_dir, &self.serial_wq)?;
        let mut shells = self.core.shells.lock();
        if self.core.is_closed() {
            return Err(EINVAL);
        }
        shells.push(shell.clone(), GFP_KERNEL)?;
        Ok(Shell::new(shell))
    }

    /// Replaces the user-supplied parallel or serial cpumask (see "Modifying cpumasks" in
    /// Documentation/rpadata.rst). Jobs in flight keep their CPUs and their order.
    ///
    /// Errors: `EINVAL` for an empty mask (nothing changes), `ENOMEM`.
    pub fn set_cpumask(&self, which: MaskType, mask: &Cpumask) -> Result {
        self.core.set_cpumask(which, mask)
    }

    /// Whether `do_parallel` can succeed now: both usable masks have an online CPU.
    pub fn is_valid(&self) -> bool {
        self.core.is_valid()
    }

    /// The instance's name.
    pub fn name(&self) -> &CStr {
        self.core.name()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // Once closed, sysfs no longer finds the instance (`lookup`); its name stays taken until
        // its directory and workqueues are gone (`Listed`). No new shell from here on; every job of
        // every shell is serialized once the loop is done, every `do_serial` call that passed one
        // on has returned after the grace period that follows, and the workqueues (dropped next)
        // are drained by `destroy_workqueue()`. A shell that is being freed by its user meanwhile
        // is waited for here as well (closing twice is fine); one that left the list already has no
        // job in flight. The lock is held while we wait: only a shell's own free (which waits for
        // the same jobs) and sysfs readers (finding a shell, summing `in_flight`) take it, nothing
        // on a job's path does, and no sysfs directory is removed while it is held.
        {
            let shells = self.core.shells.lock();
            self.core.closed.store(true, Release);
            for shell in shells.iter() {
                shell.drain();
            }
        }
        sys::synchronize_rcu();
        self.core.hotplug.remove();
        // Shells still held by their users lose their sysfs directories with the instance.
        // Removing a directory waits for readers of its files, and a reader may be waiting for
        // the `shells` lock (to find its shell): remove each outside the lock.
        loop {
            let next = self
                .core
                .shells
                .lock()
                .iter()
                .find(|s| s.has_dir())
                .cloned();
            match next {
                Some(shell) => shell.remove_dir(),
                None => break,
            }
        }
    }
}
