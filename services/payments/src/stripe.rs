//! Charging a card through Stripe (async-stripe), classified for the payments domain.

use common::money::Price;
use stripe::{
    ApiErrorsType, Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError,
    StripeRequest,
};
use stripe_core::charge::CreateCharge;
use stripe_core::refund::CreateRefund;
use stripe_types::Currency;

/// What became of a charge attempt.
#[derive(Debug)]
pub enum ChargeOutcome {
    /// Charged; the Stripe charge id.
    Charged(String),
    /// The card was refused; the processor's message for the buyer.
    Declined(String),
    /// The processor answered with an error of its own (a 5xx, or a body that is not a Stripe
    /// answer), twice under the same idempotency key: nothing was charged under that key (a
    /// charge made under it is what a replay answers). The buyer may try again, with any card.
    Failed(String),
    /// Stripe could not be reached or did not answer in time: it is unknown whether money moved.
    Unknown(String),
}

/// The Stripe API client the payments service charges and refunds through.
impl ChargeOutcome {
    /// The processor's failures name the card token ("No such token: 'tok_…'"); they are logged,
    /// and a card token has no business in a log. (A decline's message goes only to the buyer who
    /// sent the token.)
    fn without_token(self, token: &str) -> Self {
        let redact = |message: String| match token.is_empty() {
            true => message,
            false => message.replace(token, "<card token>"),
        };
        match self {
            ChargeOutcome::Failed(message) => ChargeOutcome::Failed(redact(message)),
            ChargeOutcome::Unknown(message) => ChargeOutcome::Unknown(redact(message)),
            outcome => outcome,
        }
    }
}

#[derive(Clone)]
pub struct Stripe {
    client: Client,
}

impl Stripe {
    pub fn new(key: &str, api_base: Option<&str>) -> Result<Self, String> {
        let builder = ClientBuilder::new(key);
        let builder = match api_base {
            Some(base) => builder.url(base),
            None => builder,
        };
        builder
            .build()
            .map(|client| Self { client })
            .map_err(|error| format!("STRIPE_API_BASE is unusable: {error}"))
    }

    /// Charges `amount` in USD to `source` for `order_id` (kept in the charge's metadata). The
    /// same `idempotency_key` with the same parameters is answered with the first attempt's
    /// result, so a retry never charges twice.
    pub async fn charge(
        &self,
        order_id: &str,
        amount: Price,
        source: &str,
        idempotency_key: &str,
    ) -> ChargeOutcome {
        match self
            .charge_once(order_id, amount, source, idempotency_key)
            .await
        {
            // Replayed once under the same key (safe): a passing fault is told from an answer
            // the processor keeps giving.
            ChargeOutcome::Failed(_) => {
                self.charge_once(order_id, amount, source, idempotency_key)
                    .await
            }
            outcome => outcome,
        }
    }

    /// One call to the processor: a client span of the payment's trace.
    #[tracing::instrument(name = "stripe", skip_all, fields(otel.name = "stripe create charge", otel.kind = "client", order = %order_id))]
    async fn charge_once(
        &self,
        order_id: &str,
        amount: Price,
        source: &str,
        idempotency_key: &str,
    ) -> ChargeOutcome {
        let key = match IdempotencyKey::new(idempotency_key) {
            Ok(key) => key,
            Err(error) => {
                return ChargeOutcome::Unknown(format!("idempotency key refused: {error:?}"));
            }
        };
        let result = CreateCharge::new()
            .amount(amount.cents())
            .currency(Currency::USD)
            .source(source)
            .metadata([("orderId".to_owned(), order_id.to_owned())])
            .customize()
            .request_strategy(RequestStrategy::Idempotent(key))
            .send(&self.client)
            .await;
        let outcome = match result {
            Ok(charge) => ChargeOutcome::Charged(charge.id.to_string()),
            Err(StripeError::Stripe(error, _)) if error.type_ == ApiErrorsType::CardError => {
                ChargeOutcome::Declined(
                    error
                        .message
                        .clone()
                        .unwrap_or_else(|| "Your card was declined.".into()),
                )
            }
            Err(StripeError::Stripe(error, status))
                if error.type_ == ApiErrorsType::InvalidRequestError && status == 400 =>
            {
                // A token Stripe does not know, for instance: the buyer's to fix, like a decline.
                ChargeOutcome::Declined(
                    error
                        .message
                        .clone()
                        .unwrap_or_else(|| "The card could not be charged.".into()),
                )
            }
            Err(StripeError::Stripe(error, status)) if status >= 500 => ChargeOutcome::Failed(
                error
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("the processor answered {status}")),
            ),
            Err(StripeError::JSONDeserialize(error)) => ChargeOutcome::Failed(error),
            Err(error) => ChargeOutcome::Unknown(error.to_string()),
        };
        outcome.without_token(source)
    }

    /// Gives a charge's money back. The key makes a retried refund the same refund.
    #[tracing::instrument(name = "stripe", skip_all, fields(otel.name = "stripe create refund", otel.kind = "client", charge = %charge_id))]
    pub async fn refund(&self, charge_id: &str, idempotency_key: &str) -> Result<String, String> {
        let key = IdempotencyKey::new(idempotency_key).map_err(|error| format!("{error:?}"))?;
        CreateRefund::new()
            .charge(charge_id)
            .customize()
            .request_strategy(RequestStrategy::Idempotent(key))
            .send(&self.client)
            .await
            .map(|refund| refund.id.to_string())
            .map_err(|error| error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::ChargeOutcome;

    #[test]
    fn failures_to_be_logged_do_not_name_the_card_token() {
        let failed = ChargeOutcome::Failed("No such token: 'tok_secret123'".into());
        match failed.without_token("tok_secret123") {
            ChargeOutcome::Failed(message) => assert_eq!(message, "No such token: '<card token>'"),
            other => panic!("{other:?}"),
        }
        match ChargeOutcome::Declined("card tok_secret123 declined".into())
            .without_token("tok_secret123")
        {
            ChargeOutcome::Declined(message) => assert!(message.contains("tok_secret123")),
            other => panic!("{other:?}"),
        }
    }
}
