//! `apply_change_order`: the new contract version and its impact.

use serde::{Deserialize, Serialize};

use crate::billing::BilledLedger;
use crate::changes::{
    Adjustment, ChangeOrderEvent, ContractHistory, ContractVersion, Impact,
    apply_change_order as apply, transition,
};
use crate::error::Error;
use crate::json::Limits;
use crate::model::{ChangeOrder, ChangeOrderStatus, Contract, Id, SchemaVersion};

/// What to apply.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ApplyChangeOrderRequest {
    /// Always 1 (may be omitted).
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The contract (version 0).
    pub contract: Contract,
    /// The change orders already applied (sequences 1..n).
    #[serde(default)]
    pub change_orders: Vec<ChangeOrder>,
    /// The approved change order to apply (sequence n+1).
    pub change_order: ChangeOrder,
    /// What is billed so far (for the ceiling, billed milestones and retroactive adjustments).
    #[serde(default)]
    pub ledger: Option<BilledLedger>,
}

/// The new version, what changed, and the adjustments billed work needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ApplyChangeOrderResponse {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// The contract.
    pub contract_id: Id,
    /// The change order's status after applying it (`applied`).
    pub change_order_status: ChangeOrderStatus,
    /// The ids of every applied change order in sequence: the contract's new `change_orders`.
    pub applied_change_orders: Vec<Id>,
    /// The new version.
    pub version: ContractVersion,
    /// What changed.
    pub impact: Impact,
    /// For a retroactive change order with a billed ledger: one adjustment per re-priced item.
    pub adjustments: Vec<Adjustment>,
}

/// Applies an approved change order to a contract and the change orders already applied.
pub fn apply_change_order(
    req: &ApplyChangeOrderRequest,
    _limits: &Limits,
) -> Result<ApplyChangeOrderResponse, Error> {
    let history = ContractHistory::new(&req.contract, &req.change_orders)?;
    let a = apply(&history, &req.change_order, req.ledger.as_ref())?;
    Ok(ApplyChangeOrderResponse {
        schema_version: SchemaVersion,
        contract_id: a.history.contract_id().clone(),
        change_order_status: transition(req.change_order.status, ChangeOrderEvent::Apply)?,
        applied_change_orders: a
            .history
            .versions()
            .filter_map(|v| v.change_order_id.clone())
            .collect(),
        version: a.history.current().clone(),
        impact: a.impact,
        adjustments: a.adjustments,
    })
}
