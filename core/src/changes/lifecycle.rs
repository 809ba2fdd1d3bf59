//! The change-order lifecycle, declared as data: `draft → submitted → approved → applied`, or
//! ending `rejected` or `withdrawn`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode};
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
use ChangeOrderStatus as S;

/// Every allowed transition: (from, event, to). Anything not listed is refused.
pub const CHANGE_ORDER_TRANSITIONS: &[(ChangeOrderStatus, ChangeOrderEvent, ChangeOrderStatus)] = &[
    (S::Draft, E::Submit, S::Submitted),
    (S::Draft, E::Withdraw, S::Withdrawn),
    (S::Submitted, E::Approve, S::Approved),
    (S::Submitted, E::Reject, S::Rejected),
    (S::Submitted, E::Withdraw, S::Withdrawn),
    (S::Approved, E::Apply, S::Applied),
    (S::Approved, E::Withdraw, S::Withdrawn),
];

/// The states no event leaves.
pub const CHANGE_ORDER_FINAL_STATES: &[ChangeOrderStatus] =
    &[S::Applied, S::Rejected, S::Withdrawn];

/// The status after `event`, or `CHANGES_TRANSITION_NOT_ALLOWED` (`CHANGES_NOT_APPROVED` for
/// applying a change order that is not approved).
pub fn transition(
    from: ChangeOrderStatus,
    event: ChangeOrderEvent,
) -> Result<ChangeOrderStatus, Error> {
    CHANGE_ORDER_TRANSITIONS
        .iter()
        .find(|(f, e, _)| *f == from && *e == event)
        .map(|(_, _, to)| *to)
        .ok_or_else(|| {
            let code = if event == E::Apply {
                ErrorCode::ChangesNotApproved
            } else {
                ErrorCode::ChangesTransitionNotAllowed
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
            assert!(CHANGE_ORDER_TRANSITIONS.iter().all(|(f, _, _)| f != from));
        }
    }

    #[test]
    fn applying_a_submitted_change_order_is_not_approved() {
        let e = transition(S::Submitted, E::Apply).unwrap_err();
        assert_eq!(e.code, ErrorCode::ChangesNotApproved);
        let e = transition(S::Rejected, E::Approve).unwrap_err();
        assert_eq!(e.code, ErrorCode::ChangesTransitionNotAllowed);
    }
}
