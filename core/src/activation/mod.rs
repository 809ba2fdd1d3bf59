//! The opportunity-to-project activation gate: what must be true before a won opportunity becomes
//! a project. Every violation is reported, each with a code and a JSON-pointer path.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{ErrorCode, Pointer, Problem};
use crate::model::{
    Account, AccountStatus, Opportunity, OpportunityStage, OwnershipPolicy, System,
};
use crate::validate::Problems;

/// Where the account under check was found.
fn account_path(given: bool, index: usize) -> Pointer {
    if given {
        Pointer::root().key("account")
    } else {
        Pointer::root().key("accounts").index(index)
    }
}

/// Checks the gate for `opportunity`. `account` is the opportunity's account when the caller has
/// it at hand; otherwise it is looked up in `accounts`, which also holds the account's ancestors.
/// Without a policy the currency check is skipped. Returns every violation, in the order the
/// checks run; none means ready.
pub fn check_activation(
    opportunity: &Opportunity,
    account: Option<&Account>,
    accounts: &[Account],
    policy: Option<&OwnershipPolicy>,
) -> Vec<Problem> {
    let mut p = Problems::new();
    let opp = Pointer::root().key("opportunity");

    if opportunity.stage != OpportunityStage::ClosedWon {
        p.push(
            &opp.key("stage"),
            ErrorCode::ActivationNotWon,
            format!(
                "opportunity `{}` is at stage `{}`; only a `closed_won` opportunity becomes a project",
                opportunity.id, opportunity.stage
            ),
        );
    }

    // The accounts by id (first occurrence wins; duplicates are reported).
    let mut by_id: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, a) in accounts.iter().enumerate() {
        if by_id.contains_key(a.id.as_str()) {
            p.push(
                &Pointer::root().key("accounts").index(i).key("id"),
                ErrorCode::DocumentDuplicateId,
                format!("account `{}` is listed twice", a.id),
            );
        } else {
            by_id.insert(a.id.as_str(), i);
        }
    }

    let found: Option<(&Account, Pointer)> = match account {
        Some(a) if a.id == opportunity.account_id => Some((a, account_path(true, 0))),
        Some(a) => {
            p.push(
                &Pointer::root().key("account").key("id"),
                ErrorCode::ActivationUnknownAccount,
                format!(
                    "the account given is `{}` but opportunity `{}` belongs to `{}`",
                    a.id, opportunity.id, opportunity.account_id
                ),
            );
            None
        }
        None => by_id
            .get(opportunity.account_id.as_str())
            .and_then(|i| accounts.get(*i).map(|a| (a, account_path(false, *i)))),
    };
    if found.is_none() && account.is_none() {
        p.push(
            &opp.key("account_id"),
            ErrorCode::ActivationUnknownAccount,
            format!(
                "account `{}` is not among the accounts given",
                opportunity.account_id
            ),
        );
    }

    if let Some((a, at)) = &found {
        let erp = System::new("erp").ok();
        let erp_id = erp
            .as_ref()
            .and_then(|s| a.external_ids.get(s))
            .filter(|id| !id.trim().is_empty());
        if erp_id.is_none() {
            p.push(
                &at.key("external_ids").key("erp"),
                ErrorCode::ActivationMissingErpId,
                format!(
                    "account `{}` has no ERP id: it must exist in the ERP before a project can bill",
                    a.id
                ),
            );
        }
        if a.status != AccountStatus::Active {
            p.push(
                &at.key("status"),
                ErrorCode::ActivationInactiveAccount,
                format!("account `{}` is `{}`, not `active`", a.id, a.status),
            );
        }
    }
    let acct = found.as_ref().map(|(a, _)| *a);

    let missing = |p: &mut Problems, field: &str, from_account: bool| {
        let tail = if from_account {
            " and neither has its account"
        } else {
            ""
        };
        p.push(
            &opp.key(field),
            ErrorCode::ActivationMissingField,
            format!("opportunity `{}` has no `{field}`{tail}", opportunity.id),
        );
    };
    let legal_entity = opportunity
        .legal_entity
        .as_ref()
        .or_else(|| acct.and_then(|a| a.legal_entity.as_ref()));
    if legal_entity.is_none() {
        missing(&mut p, "legal_entity", true);
    }
    let tax_profile = opportunity
        .tax_profile
        .as_deref()
        .or_else(|| acct.and_then(|a| a.tax_profile.as_deref()))
        .filter(|t| !t.trim().is_empty());
    if tax_profile.is_none() {
        missing(&mut p, "tax_profile", true);
    }
    let (currency, currency_path) = match (opportunity.currency, acct.and_then(|a| a.currency)) {
        (Some(c), _) => (Some(c), opp.key("currency")),
        (None, Some(c)) => (
            Some(c),
            found
                .as_ref()
                .map_or_else(|| opp.key("currency"), |(_, at)| at.key("currency")),
        ),
        (None, None) => (None, opp.key("currency")),
    };
    if currency.is_none() {
        missing(&mut p, "currency", true);
    }
    if opportunity
        .service_line
        .as_deref()
        .is_none_or(|s| s.trim().is_empty())
    {
        missing(&mut p, "service_line", false);
    }
    if opportunity
        .contract_template
        .as_deref()
        .is_none_or(|s| s.trim().is_empty())
    {
        missing(&mut p, "contract_template", false);
    }
    if opportunity.billing_model.is_none() {
        missing(&mut p, "billing_model", false);
    }
    if opportunity.expected_start.is_none() {
        missing(&mut p, "expected_start", false);
    }

    if let (Some(le), Some(cur), Some(policy)) = (legal_entity, currency, policy) {
        let allowed = policy
            .activation
            .as_ref()
            .and_then(|a| a.currencies_by_legal_entity.get(le));
        match allowed {
            Some(list) if list.contains(&cur) => {}
            Some(list) => {
                let names: Vec<&str> = list.iter().map(|c| c.code()).collect();
                p.push(
                    &currency_path,
                    ErrorCode::ActivationCurrencyNotAllowed,
                    format!(
                        "legal entity `{le}` may contract in {} but not in `{cur}`",
                        names.join(", ")
                    ),
                );
            }
            None => p.push(
                &currency_path,
                ErrorCode::ActivationCurrencyNotAllowed,
                format!(
                    "the policy allows no currency for legal entity `{le}`, so `{cur}` is not allowed"
                ),
            ),
        }
    }

    // The hierarchy above the account: every parent known, no loop.
    if let Some((a, at)) = &found {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        seen.insert(a.id.as_str());
        let mut child: &Account = a;
        let mut child_path = at.clone();
        for _ in 0..=accounts.len() {
            let Some(parent_id) = child.parent_id.as_ref() else {
                break;
            };
            let Some((pi, parent)) = by_id
                .get(parent_id.as_str())
                .and_then(|i| accounts.get(*i).map(|x| (*i, x)))
            else {
                p.push(
                    &child_path.key("parent_id"),
                    ErrorCode::ActivationUnknownParent,
                    format!(
                        "account `{}` names parent `{parent_id}`, which is not among the accounts given",
                        child.id
                    ),
                );
                break;
            };
            if !seen.insert(parent.id.as_str()) {
                p.push(
                    &child_path.key("parent_id"),
                    ErrorCode::ActivationHierarchyCycle,
                    format!(
                        "the hierarchy above account `{}` loops: `{}` names `{parent_id}` as its parent, which is already in the chain",
                        a.id, child.id
                    ),
                );
                break;
            }
            child = parent;
            child_path = account_path(false, pi);
        }
    }
    p.into_vec()
}
