//! Prices: whole cents inside, a JSON number with at most two decimals outside.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The smallest price a ticket may have: the card processor refuses smaller charges (Stripe's
/// minimum is 0.50 in USD), so a cheaper ticket could be listed and ordered but never paid.
pub const MIN_PRICE_CENTS: i64 = 50;
/// Every price is below this: the processor refuses a charge of 1,000,000 or more (Stripe's
/// limit is 999,999.99 in USD).
pub const PRICE_LIMIT_CENTS: i64 = 1_000_000 * 100;

const NOT_POSITIVE: &str = "Price must be greater than 0";
const TOO_SMALL: &str = "Price must be at least 0.50";
const TOO_PRECISE: &str = "Price must have at most two decimals";
const TOO_LARGE: &str = "Price must be less than 1000000";

/// A positive amount of money in whole cents, so arithmetic and charges are exact. A stored
/// document holds it as its cents (an integer), so every collection reads it back the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Price(i64);

impl Price {
    /// Parses a JSON number or numeric string (the original's forms sent strings).
    pub fn parse(value: Option<&Value>) -> Result<Price, &'static str> {
        let amount = match value {
            Some(Value::Number(number)) => number.as_f64(),
            Some(Value::String(text)) => text.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|amount| amount.is_finite())
        .ok_or(NOT_POSITIVE)?;
        if amount <= 0.0 {
            return Err(NOT_POSITIVE);
        }
        if amount >= (PRICE_LIMIT_CENTS / 100) as f64 {
            return Err(TOO_LARGE);
        }
        let cents = (amount * 100.0).round();
        // Both are the nearest doubles to the same decimal exactly when it has ≤ 2 decimals.
        if cents / 100.0 != amount {
            return Err(TOO_PRECISE);
        }
        if cents < MIN_PRICE_CENTS as f64 {
            return Err(TOO_SMALL);
        }
        Ok(Price(cents as i64))
    }

    pub fn from_cents(cents: i64) -> Price {
        Price(cents)
    }

    /// From a price carried by an event (already validated at its source).
    pub fn from_amount(amount: f64) -> Price {
        Price((amount * 100.0).round() as i64)
    }

    pub fn cents(self) -> i64 {
        self.0
    }

    /// The amount as a JSON number: 1999 cents → 19.99.
    pub fn amount(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

impl std::fmt::Display for Price {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<i64, &'static str> {
        Price::parse(Some(&value)).map(Price::cents)
    }

    #[test]
    fn numbers_and_numeric_strings_become_exact_cents() {
        assert_eq!(parse(json!(19.99)), Ok(1999));
        assert_eq!(parse(json!("12.50")), Ok(1250));
        assert_eq!(parse(json!(10)), Ok(1000));
        assert_eq!(parse(json!(0.5)), Ok(50));
        assert_eq!(parse(json!(999999.99)), Ok(99_999_999));
        assert_eq!(Price::from_cents(1999).amount(), 19.99);
        assert_eq!(Price::from_cents(1999).to_string(), "19.99");
        assert_eq!(Price::from_amount(19.99).cents(), 1999);
    }

    #[test]
    fn a_stored_price_is_its_cents() {
        assert_eq!(
            serde_json::to_value(Price::from_cents(1999)).unwrap(),
            json!(1999)
        );
        let stored = bson::to_bson(&Price::from_cents(1999)).unwrap();
        assert_eq!(stored, bson::Bson::Int64(1999));
        assert_eq!(
            bson::from_bson::<Price>(stored).unwrap(),
            Price::from_cents(1999)
        );
    }

    #[test]
    fn bad_prices_are_refused() {
        for bad in [
            json!(0),
            json!(-10),
            json!("abc"),
            json!(null),
            json!({ "$gt": 0 }),
            json!("NaN"),
            json!("inf"),
            json!(true),
            json!(0.001),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
        assert_eq!(parse(json!(12.345)), Err(TOO_PRECISE));
        assert_eq!(parse(json!(0.49)), Err(TOO_SMALL));
        assert_eq!(parse(json!("0.1")), Err(TOO_SMALL));
        assert_eq!(parse(json!(1000000)), Err(TOO_LARGE));
        assert_eq!(parse(json!(1000000.01)), Err(TOO_LARGE));
        assert_eq!(parse(json!(1e300)), Err(TOO_LARGE));
        assert_eq!(Price::parse(None), Err(NOT_POSITIVE));
    }
}
