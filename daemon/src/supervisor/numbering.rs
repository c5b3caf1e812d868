//! Which executor is which: the executor number of each function, from the
//! ExecutorIndex each reported in DEVICE_CAPS_V2 (see the module
//! documentation of [`super`], "Which executor is which").
//!
//! Executors are kept in function order; these turn positions into the
//! numbers the snapshot, D-Bus, netdev names and slot mappings use, and back.

use super::Supervisor;
use mbim_transport::FunctionTransport;

impl<T: FunctionTransport + 'static> Supervisor<T> {
    /// Each function's executor number, by function position.
    pub(super) fn numbers(&self) -> Vec<usize> {
        let reported: Vec<Option<u32>> = self
            .executors
            .iter()
            .map(|executor| executor.status.borrow().device_executor_index)
            .collect();
        executor_numbers(&reported)
    }

    /// The executor number of the function at `function`.
    pub(super) fn number_of(&self, function: usize) -> usize {
        self.numbers().get(function).copied().unwrap_or(function)
    }

    /// The position of the function whose executor number is `number`.
    pub(super) fn function_of(&self, number: usize) -> Option<usize> {
        self.numbers().iter().position(|&each| each == number)
    }
}

/// The executor number of each function, by function position, from the
/// ExecutorIndex each reported (DEVICE_CAPS_V2), if any: its own index where
/// it is below the number of functions and no earlier function has it; the
/// lowest number left, in function order, otherwise. Always each of
/// `0..reported.len()` once, so the snapshot, D-Bus and slot mappings have
/// one executor per number and no gaps.
pub fn executor_numbers(reported: &[Option<u32>]) -> Vec<usize> {
    let count = reported.len();
    let mut taken = vec![false; count];
    let claimed: Vec<Option<usize>> = reported
        .iter()
        .map(|index| {
            let index = index.and_then(|index| usize::try_from(index).ok())?;
            let entry = taken.get_mut(index).filter(|taken| !**taken)?;
            *entry = true;
            Some(index)
        })
        .collect();
    let mut left = taken
        .iter()
        .enumerate()
        .filter(|(_, taken)| !**taken)
        .map(|(number, _)| number);
    claimed
        .into_iter()
        .enumerate()
        .map(|(function, number)| number.or_else(|| left.next()).unwrap_or(function))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executors_are_numbered_by_their_executor_index() {
        // (ExecutorIndex reported by each function, in function order; numbers)
        let table: [(&[Option<u32>], &[usize]); 9] = [
            (&[], &[]),
            (&[None], &[0]),
            (&[Some(0)], &[0]),
            (&[None, None], &[0, 1]),
            (&[Some(0), Some(1)], &[0, 1]),
            // Function order differs from executor order.
            (&[Some(1), Some(0)], &[1, 0]),
            // One known, one not (yet): the other takes what is left.
            (&[Some(1), None], &[1, 0]),
            // Taken twice, or out of range: the later or the odd one falls
            // back to the numbers left, in function order.
            (&[Some(0), Some(0), None], &[0, 1, 2]),
            (&[Some(7), Some(0), None], &[1, 0, 2]),
        ];
        for (reported, numbers) in table {
            assert_eq!(executor_numbers(reported), numbers, "{reported:?}");
        }
    }
}
