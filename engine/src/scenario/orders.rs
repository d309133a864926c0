//! What the transaction scenarios (`2pc`, `tcc`, `saga`, `outbox`) share: the checks of their
//! order settings and injected failures, each service's starting amount, and their lossy network.

use crate::config::ConfigError;
use crate::sim::{LinkConfig, Ratio};
use crate::txn::ServiceKind;

/// Checks how many orders are placed, and how often.
pub(super) fn check_orders(orders: u64, interval_ms: u64) -> Result<(), ConfigError> {
    ConfigError::check_range("orders", orders, 0, 100_000)?;
    ConfigError::check_range("interval_ms", interval_ms, 1, 60_000)
}

/// Checks an order's price and the stock on hand.
pub(super) fn check_goods(price: i64, stock: i64) -> Result<(), ConfigError> {
    ConfigError::check_range("price", price, 1, 1_000_000)?;
    ConfigError::check_range("stock", stock, 0, 1_000_000)
}

/// Checks a failure injected at one step of one order (`order` 0: none).
pub(super) fn check_failure(order: u64, step: u32, orders: u64) -> Result<(), ConfigError> {
    ConfigError::check_range("fail_order", order, 0, orders)?;
    ConfigError::check_range("fail_step", step, 1, 3)
}

/// The order whose step fails at `kind`, if the injected failure is at its step.
pub(super) fn refused_at(kind: ServiceKind, order: u64, step: u32) -> Option<u64> {
    (order > 0 && kind.step() == step).then_some(order)
}

/// What a service starts with: `stock` units, `stock` orders' worth of money, `slots` slots.
pub(super) fn initial(kind: ServiceKind, stock: i64, price: i64, slots: i64) -> i64 {
    match kind {
        ServiceKind::Inventory => stock,
        ServiceKind::Payment => stock * price,
        ServiceKind::Shipping => slots,
    }
}

/// A link that loses, repeats and delays (by up to `reorder_delay_ms`) the given shares of
/// messages, after checking them.
pub(super) fn lossy_link(
    loss_percent: u32,
    duplicate_percent: u32,
    reorder_percent: u32,
    reorder_delay_ms: u64,
) -> Result<LinkConfig, ConfigError> {
    ConfigError::check_range("loss_percent", loss_percent, 0, 50)?;
    ConfigError::check_range("duplicate_percent", duplicate_percent, 0, 50)?;
    ConfigError::check_range("reorder_percent", reorder_percent, 0, 50)?;
    ConfigError::check_range("reorder_delay_ms", reorder_delay_ms, 0, 60_000)?;
    Ok(LinkConfig {
        loss: Ratio::percent(loss_percent),
        duplicate: Ratio::percent(duplicate_percent),
        reorder: Ratio::percent(reorder_percent),
        reorder_delay_max_us: reorder_delay_ms * 1_000,
        ..LinkConfig::default()
    })
}
