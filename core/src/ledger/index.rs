//! What each item has billed net of credits, and the one operation that records a credit.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};

use super::types::{BilledLedger, ItemKind, LedgerCredit, LedgerEntry};
use crate::error::{Error, ErrorCode, Pointer};
use crate::model::{Currency, Date, Dec, Id, Money, RoundingMode, decimal};

/// Decimals kept for quantities that a division produces: a ceiling split's share of an item
/// (rounded down) and the quantity a credit by amount gives back (rounded half up). Every quantity
/// in a ledger then has a bounded scale, so summing bills and credits in any order is exact and a
/// run after a commit finds nothing left, not a residue in the 28th digit.
pub const QUANTITY_DECIMALS: u32 = 12;

/// What one item has been billed, net of credits.
#[derive(Debug, Clone, PartialEq)]
pub struct NetBilled {
    /// Hours (time) or the share of the one item (expenses, milestones) billed minus credited.
    pub quantity: Decimal,
    /// Amount billed minus credited.
    pub amount: Decimal,
    /// Amount billed against the ceiling minus the credits' share of it.
    pub against_ceiling: Decimal,
    /// What credits that gave back money and no quantity gave back: price reductions, which
    /// re-pricing by a retroactive change order keeps (it re-prices the hours, not the discount).
    pub discounts: Decimal,
    /// The contract version of the latest bill.
    pub contract_version: u32,
    /// The unit price of the latest bill (the rate that priced it).
    pub unit_price: Decimal,
    /// The item's date, as its latest bill records it.
    pub date: Date,
    /// Where the latest bill is in the ledger's `entries`.
    pub last_entry: usize,
}

/// A credit as recorded: both sides, and its share of what counts against the ceiling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrozenCredit {
    /// Quantity given back.
    pub quantity: Decimal,
    /// Amount given back, at the currency's minor unit.
    pub amount: Decimal,
    /// How much of `amount` had counted against the ceiling.
    pub against_ceiling: Decimal,
}

/// The ledger indexed by item: `(kind, item id) → net billed`, with every credit completed.
#[derive(Debug)]
pub struct LedgerIndex<'a> {
    ledger: Option<&'a BilledLedger>,
    items: NetByItem,
    /// The ledger's credits as recorded, in its order.
    credits: Vec<FrozenCredit>,
    currency: Currency,
}

fn add(a: Decimal, b: Decimal) -> Result<Decimal, Error> {
    decimal::add(a, b, "the ledger total")
}

fn sub(a: Decimal, b: Decimal) -> Result<Decimal, Error> {
    decimal::sub(a, b, "the ledger total")
}

/// `part × of ÷ whole`, multiplied first so that an exact share stays exact.
fn share(part: Decimal, of: Decimal, whole: Decimal) -> Result<Decimal, Error> {
    if whole.is_zero() {
        return Ok(Decimal::ZERO);
    }
    decimal::div(decimal::mul(part, of, "the credit")?, whole, "the credit")
}

fn negative(d: Decimal) -> bool {
    d.is_sign_negative() && !d.is_zero()
}

/// The quantity a credit of `amount` gives back of an item billed `quantity` for `billed` net:
/// the same share, rounded half up to [`QUANTITY_DECIMALS`], never more than `quantity`.
pub fn credited_quantity(
    amount: Decimal,
    quantity: Decimal,
    billed: Decimal,
) -> Result<Decimal, Error> {
    if amount == billed {
        return Ok(quantity);
    }
    Ok(share(amount, quantity, billed)?
        .round_dp_with_strategy(QUANTITY_DECIMALS, RoundingStrategy::MidpointAwayFromZero)
        .min(quantity))
}

/// The amount a credit of `quantity` hours (or share of an item) gives back of what was billed
/// `of` for `billed`: all of it for the whole quantity, else the same share, rounded half up to
/// the minor unit of `currency`.
pub fn credited_amount(
    quantity: Decimal,
    of: Decimal,
    billed: Decimal,
    currency: Currency,
) -> Result<Decimal, Error> {
    if quantity == of {
        return Ok(billed);
    }
    Ok(RoundingMode::HalfUp.round(share(quantity, billed, of)?, currency.minor_units()))
}

/// A credit that gives one side, completed against what was billed `of_quantity` for
/// `of_amount`: the side it leaves out is the same share, all of it for the whole of the other
/// ([`credited_amount`], [`credited_quantity`]). `None` for a credit that gives both or neither.
pub fn other_side(
    quantity: Option<Decimal>,
    amount: Option<Decimal>,
    of_quantity: Decimal,
    of_amount: Decimal,
    currency: Currency,
) -> Result<Option<(Decimal, Decimal)>, Error> {
    Ok(match (quantity, amount) {
        (Some(q), None) => Some((q, credited_amount(q, of_quantity, of_amount, currency)?)),
        (None, Some(a)) => Some((credited_quantity(a, of_quantity, of_amount)?, a)),
        _ => None,
    })
}

/// The part of a credit of `amount` (above zero) that had counted against the ceiling, of what
/// was billed `billed` with `against` of it against the ceiling: the same share, rounded half up
/// to the minor unit (all of `against` for the whole amount), never below zero nor more than the
/// credit or `against`.
pub fn ceiling_share(
    amount: Decimal,
    billed: Decimal,
    against: Decimal,
    currency: Currency,
) -> Result<Decimal, Error> {
    // The upper bound is at least zero (`amount` is above zero), as `clamp` requires.
    let most = against.max(Decimal::ZERO).min(amount.max(Decimal::ZERO));
    if amount == billed {
        return Ok(against.clamp(Decimal::ZERO, most));
    }
    Ok(RoundingMode::HalfUp
        .round(share(amount, against, billed)?, currency.minor_units())
        .clamp(Decimal::ZERO, most))
}

/// The part of an adjustment of `delta` that counts against the ceiling, for an item that has
/// `net_against` billed against it net: an increase counts in full (it is new billing under the
/// ceiling); a decrease frees room only up to what the item has against the ceiling (a decrease of
/// work billed before the contract had a ceiling frees none). See `spec/domain/billing.md`, "The
/// ceiling", step 2.
pub fn adjustment_ceiling_part(delta: Decimal, net_against: Decimal) -> Decimal {
    if delta >= Decimal::ZERO {
        return delta;
    }
    -(-delta).min(net_against.max(Decimal::ZERO))
}

/// Checks that `m` is in `currency` and at its minor unit; `what` names it in the message.
// (One function in the WebAssembly module, not a copy in each caller.)
#[cfg_attr(target_arch = "wasm32", inline(never))]
pub(crate) fn money_in(
    m: &Money,
    currency: Currency,
    at: &Pointer,
    what: &str,
) -> Result<(), Error> {
    if m.currency != currency {
        return Err(Error::new(
            ErrorCode::MoneyCurrencyMismatch,
            format!(
                "{what} is in `{}`; the contract bills in `{currency}`",
                m.currency
            ),
        )
        .at(at.key("currency")));
    }
    if !m.is_at_minor_unit() {
        return Err(Error::new(
            ErrorCode::MoneyInvalidScale,
            format!(
                "{what} `{}` has more decimals than {currency} has ({})",
                Dec(m.amount),
                currency.minor_units()
            ),
        )
        .at(at.key("amount")));
    }
    Ok(())
}

/// Records one credit against `net`, what its item is billed net now: both sides, its ceiling
/// share, every refusal of `spec/domain/billing.md` ("A credit is frozen when it is recorded").
/// `at` is the credit's path for errors.
// (One function in the WebAssembly module, not a copy in each caller.)
#[cfg_attr(target_arch = "wasm32", inline(never))]
pub fn freeze(
    net: &NetBilled,
    c: &LedgerCredit,
    currency: Currency,
    at: &Pointer,
) -> Result<FrozenCredit, Error> {
    let invalid =
        |message: String| Error::new(ErrorCode::LedgerInvalidCredit, message).at(at.clone());
    let (note, item) = (&c.credit_note_id, &c.item_id);
    if let Some(a) = &c.amount {
        money_in(a, currency, &at.key("amount"), "the credit")?;
    }
    let given_q = c.quantity.map(|q| q.0);
    let given_a = c.amount.map(|a| a.amount);
    if given_q.is_some_and(negative) || given_a.is_some_and(negative) {
        return Err(invalid(format!(
            "credit note `{note}` gives back a negative amount of `{item}`; a credit gives back, \
             a rebill is a new time entry or expense"
        )));
    }
    let over = |given: String, billed: String| {
        invalid(format!(
            "credit note `{note}` gives back more of `{item}` than is billed ({given} of {billed})"
        ))
    };
    let money = |d: Decimal| Money::new(d, currency).amount_string();
    if let Some(q) = given_q
        && q > net.quantity
    {
        return Err(over(
            format!("quantity {}", Dec(q)),
            Dec(net.quantity).to_string(),
        ));
    }
    if let Some(a) = given_a
        && a > net.amount
    {
        return Err(over(money(a), money(net.amount)));
    }
    let (quantity, amount) = match (given_q, given_a) {
        (None, None) => {
            return Err(invalid(format!(
                "credit note `{note}` needs a `quantity` or an `amount` for `{item}`"
            )));
        }
        (Some(q), Some(a)) => {
            // Both given: all the hours (or the whole item) given back for less than all the
            // money would leave money billed for no work. (All the money for a little less than
            // all the hours, which rounding gives, re-bills those hours.)
            if q == net.quantity && a != net.amount {
                return Err(invalid(format!(
                    "credit note `{note}` gives back {} of `{item}`'s {} and {} of its {}: a \
                     credit of all of the quantity gives back all of the amount",
                    Dec(q),
                    Dec(net.quantity),
                    money(a),
                    money(net.amount)
                )));
            }
            // All the money for fewer hours is accepted only when what is left is worth less
            // than half a minor unit at the item's net price (a rounding): more would stay
            // billed for nothing, never billed again nor credited.
            if a == net.amount && q < net.quantity && !net.quantity.is_zero() {
                let left = share(sub(net.quantity, q)?, net.amount, net.quantity)?;
                let left = RoundingMode::HalfUp.round(left, currency.minor_units());
                if !left.is_zero() {
                    return Err(invalid(format!(
                        "credit note `{note}` gives back all of `{item}`'s {} for {} of its {}: \
                         the {} left, worth {}, would stay billed for nothing",
                        money(a),
                        Dec(q),
                        Dec(net.quantity),
                        Dec(sub(net.quantity, q)?.normalize()),
                        money(left)
                    )));
                }
            }
            (q, a)
        }
        // One side: the other is the same share of the item's net billed.
        (q, a) => other_side(q, a, net.quantity, net.amount, currency)?.unwrap_or_default(),
    };
    if negative(amount) {
        return Err(invalid(format!(
            "credit note `{note}` would give back a negative amount of `{item}` ({})",
            money(amount)
        )));
    }
    if amount.is_zero() {
        return Err(Error::new(
            ErrorCode::LedgerZeroCredit,
            format!(
                "credit note `{note}` gives back no amount of `{item}`; a credit of nothing \
                 would return it to billing for free"
            ),
        )
        .at(at.clone()));
    }
    let against_ceiling = match &c.ceiling_share {
        Some(given) => {
            money_in(
                given,
                currency,
                &at.key("ceiling_share"),
                "the ceiling share",
            )?;
            if negative(given.amount)
                || given.amount > amount
                || given.amount > net.against_ceiling.max(Decimal::ZERO)
            {
                return Err(invalid(format!(
                    "credit note `{note}` gives back {} of the ceiling for `{item}`: more than the credit ({}) or than the item billed against it ({})",
                    money(given.amount),
                    money(amount),
                    money(net.against_ceiling)
                )));
            }
            given.amount
        }
        // (`amount` is above zero here: a zero or negative one is refused above.)
        None => ceiling_share(amount, net.amount, net.against_ceiling, currency)?,
    };
    Ok(FrozenCredit {
        quantity,
        amount,
        against_ceiling,
    })
}

impl NetBilled {
    fn take(&mut self, f: &FrozenCredit) -> Result<(), Error> {
        self.quantity = sub(self.quantity, f.quantity)?;
        self.amount = sub(self.amount, f.amount)?;
        self.against_ceiling = sub(self.against_ceiling, f.against_ceiling)?;
        if f.quantity.is_zero() {
            self.discounts = add(self.discounts, f.amount)?;
        }
        Ok(())
    }
}

/// What each item is billed net, by kind (in [`ItemKind::ALL`]'s order) and id. One map type for
/// the ledger index and the engine's cache of it (a map type is compiled once per key and value:
/// the WebAssembly module keeps one).
pub type NetByItem = [BTreeMap<Id, NetBilled>; 3];

impl<'a> LedgerIndex<'a> {
    /// Indexes a ledger for a contract in `currency`: every amount must be in it and at its minor
    /// unit, and every credit one [`freeze`] records (completed in list order against every
    /// entry and the credits before it). Errors point under `/ledger`.
    pub fn new(ledger: Option<&'a BilledLedger>, currency: Currency) -> Result<Self, Error> {
        let mut index = Self {
            ledger,
            items: NetByItem::default(),
            credits: Vec::new(),
            currency,
        };
        let Some(ledger) = ledger else {
            return Ok(index);
        };
        let root = Pointer::root().key("ledger");
        let entries = root.key("entries");
        for (i, e) in ledger.entries.iter().enumerate() {
            let at = entries.index(i);
            money_in(&e.amount, currency, &at.key("amount"), "a ledger amount")?;
            if e.unit_price.currency != currency {
                return Err(Error::new(
                    ErrorCode::MoneyCurrencyMismatch,
                    format!(
                        "ledger entry for `{}` is in `{}`; the contract bills in `{currency}`",
                        e.item_id, e.unit_price.currency
                    ),
                )
                .at(at.key("unit_price").key("currency")));
            }
            if negative(e.quantity.0) {
                return Err(Error::new(
                    ErrorCode::DocumentNegativeAmount,
                    format!(
                        "ledger entry for `{}` bills a negative quantity `{}`",
                        e.item_id, e.quantity
                    ),
                )
                .at(at.key("quantity")));
            }
            let items = index.items_mut(e.kind)?;
            let net = match items.get_mut(e.item_id.as_str()) {
                Some(net) => net,
                None => items.entry(e.item_id.clone()).or_insert(NetBilled {
                    quantity: Decimal::ZERO,
                    amount: Decimal::ZERO,
                    against_ceiling: Decimal::ZERO,
                    discounts: Decimal::ZERO,
                    contract_version: e.contract_version,
                    unit_price: e.unit_price.amount,
                    date: e.date,
                    last_entry: i,
                }),
            };
            let sums = (|| {
                net.quantity = add(net.quantity, e.quantity.0)?;
                net.amount = add(net.amount, e.amount.amount)?;
                if e.against_ceiling {
                    net.against_ceiling = add(net.against_ceiling, e.amount.amount)?;
                }
                Ok::<(), Error>(())
            })();
            sums.map_err(|err| err.or_at(&|| at.as_str().to_owned()))?;
            net.contract_version = e.contract_version;
            net.unit_price = e.unit_price.amount;
            net.date = e.date;
            net.last_entry = i;
        }
        let credits = root.key("credits");
        for (i, c) in ledger.credits.iter().enumerate() {
            let frozen = index.credit(c, &credits.index(i))?;
            index.credits.push(frozen);
        }
        Ok(index)
    }

    /// [`LedgerIndex::new`], for a contract: a ledger of another contract is refused
    /// (`LEDGER_WRONG_CONTRACT` at `/ledger/contract_id`).
    pub fn for_contract(
        ledger: Option<&'a BilledLedger>,
        contract_id: &Id,
        currency: Currency,
    ) -> Result<Self, Error> {
        if let Some(l) = ledger
            && &l.contract_id != contract_id
        {
            return Err(Error::new(
                ErrorCode::LedgerWrongContract,
                format!(
                    "the ledger is for `{}` but the contract is `{contract_id}`",
                    l.contract_id
                ),
            )
            .at("/ledger/contract_id"));
        }
        Self::new(ledger, currency)
    }

    /// Records credit `c` (at `at`, for errors) against what its item is billed net now, and
    /// returns it as recorded. The one credit operation: `record_credit`, the engine's credit
    /// notes and the reading of a ledger all go through it.
    pub fn credit(&mut self, c: &LedgerCredit, at: &Pointer) -> Result<FrozenCredit, Error> {
        let currency = self.currency;
        let Some(net) = self
            .items
            .get_mut(c.kind as usize)
            .and_then(|m| m.get_mut(c.item_id.as_str()))
        else {
            return Err(Error::new(
                ErrorCode::LedgerUnknownItem,
                format!(
                    "credit note `{}` credits {} `{}`, which the ledger never billed",
                    c.credit_note_id,
                    c.kind.as_str(),
                    c.item_id
                ),
            )
            .at(at.clone()));
        };
        let frozen = freeze(net, c, currency, at)
            .and_then(|f| net.take(&f).map(|()| f))
            .map_err(|e| e.or_at(&|| at.as_str().to_owned()))?;
        Ok(frozen)
    }

    /// What an item has been billed, net of credits.
    #[inline]
    pub fn get(&self, kind: ItemKind, id: &str) -> Option<&NetBilled> {
        self.items.get(kind as usize).and_then(|m| m.get(id))
    }

    fn items_mut(&mut self, kind: ItemKind) -> Result<&mut BTreeMap<Id, NetBilled>, Error> {
        self.items
            .get_mut(kind as usize)
            .ok_or_else(|| Error::internal("an item kind without a map"))
    }

    /// What each item is billed net, for a caller that keeps it beyond the ledger's borrow.
    pub fn into_items(self) -> NetByItem {
        self.items
    }

    /// The latest bill of an item.
    pub fn last_entry(&self, net: &NetBilled) -> Option<&'a LedgerEntry> {
        self.ledger.and_then(|l| l.entries.get(net.last_entry))
    }

    /// Every billed item, by kind and id.
    pub fn iter(&self) -> impl Iterator<Item = (ItemKind, &str, &NetBilled)> + '_ {
        ItemKind::ALL
            .into_iter()
            .zip(&self.items)
            .flat_map(|(k, m)| m.iter().map(move |(id, n)| (k, id.as_str(), n)))
    }

    /// Whether the ledger bills any time.
    pub fn has_time(&self) -> bool {
        self.items
            .get(ItemKind::Time as usize)
            .is_some_and(|m| !m.is_empty())
    }

    /// Net amount billed against the ceiling.
    pub fn against_ceiling(&self) -> Result<Decimal, Error> {
        self.items
            .iter()
            .flat_map(BTreeMap::values)
            .try_fold(Decimal::ZERO, |acc, n| add(acc, n.against_ceiling))
    }

    /// Net amount of one kind billed.
    pub fn amount_of(&self, kind: ItemKind) -> Result<Decimal, Error> {
        self.items
            .get(kind as usize)
            .into_iter()
            .flat_map(BTreeMap::values)
            .try_fold(Decimal::ZERO, |acc, n| add(acc, n.amount))
    }

    /// Net amount billed, everything included.
    pub fn total(&self) -> Result<Decimal, Error> {
        self.items
            .iter()
            .flat_map(BTreeMap::values)
            .try_fold(Decimal::ZERO, |acc, n| add(acc, n.amount))
    }

    /// The ledger with every credit as recorded (both sides), as every operation that writes a
    /// ledger writes it.
    pub fn completed(&self) -> Option<BilledLedger> {
        let mut ledger = self.ledger?.clone();
        let currency = self.currency;
        for (c, f) in ledger.credits.iter_mut().zip(&self.credits) {
            complete(c, f, currency);
        }
        Some(ledger)
    }
}

/// Writes both sides of `frozen` into `c`.
pub fn complete(c: &mut LedgerCredit, frozen: &FrozenCredit, currency: Currency) {
    c.quantity = Some(Dec(frozen.quantity.normalize()));
    c.amount = Some(Money::new(frozen.amount, currency));
    // Always, zero too: a credit derived later against a ceiling added since would otherwise
    // give back room it never took.
    c.ceiling_share = Some(Money::new(frozen.against_ceiling, currency));
}

/// Records `credits` (paths `/credits/i`) in `ledger`, each frozen against what its item is billed
/// net once the ones before it are recorded; returns the ledger with every credit, old and new,
/// holding both sides. `record_credit` is this.
pub fn record_credits(
    ledger: &BilledLedger,
    credits: &[LedgerCredit],
    currency: Currency,
) -> Result<BilledLedger, Error> {
    let mut index = LedgerIndex::new(Some(ledger), currency)?;
    let mut out = index.completed().unwrap_or_else(|| ledger.clone());
    let at = Pointer::root().key("credits");
    for (i, c) in credits.iter().enumerate() {
        let frozen = index.credit(c, &at.index(i))?;
        let mut c = c.clone();
        complete(&mut c, &frozen, currency);
        out.credits.push(c);
    }
    Ok(out)
}
