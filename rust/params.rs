// SPDX-License-Identifier: GPL-2.0

//! Module parameters and their validation.
//!
//! Module parameters in 7.2 are read-only integers parsed by the kernel's generic integer parser,
//! which checks the type's range but nothing else. rpadata checks each value once, when the module
//! is loaded, and refuses to load with `-EINVAL` and a message naming the parameter and the range it
//! accepts, so that a typo never produces a half-working module.

use core::{
    borrow::Borrow,
    ops::RangeInclusive, //
};
use kernel::prelude::*;

/// Reads a module parameter's value on every supported kernel: `ModuleParamAccess::value()` returns
/// `&T` in 7.2 and `T` in 7.3, and both borrow as `T`. This is the one place that differs between
/// the two series, and it needs no cfg.
pub(crate) fn param<T: Copy, V: Borrow<T>>(value: V) -> T {
    *value.borrow()
}

/// Values accepted for `max_in_flight`.
pub(crate) const MAX_IN_FLIGHT: RangeInclusive<u32> = 1..=1 << 20;

/// Values accepted for `poll_us`.
pub(crate) const POLL_US: RangeInclusive<u32> = 0..=1000;

/// The validated module parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Params {
    /// Default limit of jobs per shell not yet passed on to their serial queue.
    pub(crate) max_in_flight: u32,
    /// How long an idle parallel worker polls for jobs before it sleeps, in microseconds.
    pub(crate) poll_us: u32,
}

impl Params {
    /// Validates the parameters given at `insmod` time.
    pub(crate) fn from_module() -> Result<Self> {
        Self::new(
            param(crate::module_parameters::max_in_flight.value()),
            param(crate::module_parameters::poll_us.value()),
        )
    }

    /// Validates raw parameter values, logging which one is wrong.
    pub(crate) fn new(max_in_flight: u32, poll_us: u32) -> Result<Self> {
        if !MAX_IN_FLIGHT.contains(&max_in_flight) {
            pr_err!(
                "max_in_flight={} is out of range ({}..={})\n",
                max_in_flight,
                MAX_IN_FLIGHT.start(),
                MAX_IN_FLIGHT.end()
            );
            return Err(EINVAL);
        }
        if !POLL_US.contains(&poll_us) {
            pr_err!(
                "poll_us={} is out of range ({}..={})\n",
                poll_us,
                POLL_US.start(),
                POLL_US.end()
            );
            return Err(EINVAL);
        }
        Ok(Self {
            max_in_flight,
            poll_us,
        })
    }
}

#[cfg(rpadata_kunit)]
#[kunit_tests(rpadata_params)]
mod tests {
    use super::*;

    #[test]
    fn max_in_flight_accepts_its_whole_range() {
        for v in [*MAX_IN_FLIGHT.start(), 2, 1000, *MAX_IN_FLIGHT.end()] {
            assert_eq!(Params::new(v, 0).map(|p| p.max_in_flight), Ok(v));
        }
    }

    #[test]
    fn max_in_flight_out_of_range_is_einval() {
        for v in [0, *MAX_IN_FLIGHT.end() + 1, u32::MAX] {
            assert_eq!(Params::new(v, 0), Err(EINVAL));
        }
    }

    #[test]
    fn poll_us_accepts_its_whole_range() {
        for v in [*POLL_US.start(), 1, 20, *POLL_US.end()] {
            assert_eq!(Params::new(1000, v).map(|p| p.poll_us), Ok(v));
        }
    }

    #[test]
    fn poll_us_out_of_range_is_einval() {
        for v in [*POLL_US.end() + 1, u32::MAX] {
            assert_eq!(Params::new(1000, v), Err(EINVAL));
        }
    }
}
