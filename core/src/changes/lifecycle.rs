//! The change-order lifecycle, declared as data: `draft → submitted → approved → applied`, or
//! ending `rejected` or `withdrawn`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode};
use crate::machines::CHANGE_ORDER;
use crate::model::ChangeOrderStatus;

/// What can happen to a change order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOrderEvent {
    /// Sent to the customer (or the approver).
    Submit,
    /// Accepted by both sides.
    Approve,
    /// Refused.
    Reject,
    /// Taken back by whoever raised it.
    Withdraw,
    /// Folded into the contract as a new version.
    Apply,
}

impl ChangeOrderEvent {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Withdraw => "withdraw",
            Self::Apply => "apply",
        }
    }
}

use ChangeOrderEvent as E;
#[cfg(test)]
use ChangeOrderStatus as S;

/// The states no event leaves (the shared change-order machine's terminal states).
pub const CHANGE_ORDER_FINAL_STATES: &[ChangeOrderStatus] = CHANGE_ORDER.terminal;

/// The status after `event` in the shared change-order machine ([`CHANGE_ORDER`]), or
/// `MACHINE_TRANSITION_NOT_ALLOWED` (`CHANGES_NOT_APPROVED` for applying a change order that is not
/// approved). The machine's `next_in_sequence` guard on `apply` is checked by
/// [`apply_change_order`](super::apply_change_order) itself, with its own codes.
pub fn transition(
    from: ChangeOrderStatus,
    event: ChangeOrderEvent,
) -> Result<ChangeOrderStatus, Error> {
    CHANGE_ORDER
        .transitions
        .iter()
        .find(|t| t.from == from && t.event == event.as_str())
        .map(|t| t.to)
        .ok_or_else(|| {
            let code = if event == E::Apply {
                ErrorCode::ChangesNotApproved
            } else {
                ErrorCode::MachineTransitionNotAllowed
            };
            Error::new(
                code,
                format!(
                    "a `{from}` change order cannot `{}`{}",
                    event.as_str(),
                    if event == E::Apply {
                        "; only an approved change order can be applied"
                    } else {
                        ""
                    }
                ),
            )
            .with("status", from.as_str())
            .with("event", event.as_str())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_path_runs_draft_to_applied() {
        let mut s = S::Draft;
        for e in [E::Submit, E::Approve, E::Apply] {
            s = transition(s, e).unwrap();
        }
        assert_eq!(s, S::Applied);
    }

    #[test]
    fn final_states_have_no_way_out() {
        for from in CHANGE_ORDER_FINAL_STATES {
            assert!(CHANGE_ORDER.transitions.iter().all(|t| t.from != *from));
        }
    }

    #[test]
    fn applying_a_submitted_change_order_is_not_approved() {
        let e = transition(S::Submitted, E::Apply).unwrap_err();
        assert_eq!(e.code, ErrorCode::ChangesNotApproved);
        let e = transition(S::Rejected, E::Approve).unwrap_err();
        assert_eq!(e.code, ErrorCode::MachineTransitionNotAllowed);
    }
}
