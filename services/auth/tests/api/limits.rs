use std::num::NonZeroU32;

use common::rate_limit::RateLimitSettings;
use common::testkit::status_and_json;
use serde_json::json;

use crate::helpers::spawn_app_with_limits;

fn limits(per_address: u32, per_email: u32) -> RateLimitSettings {
    RateLimitSettings {
        sign_in_per_address: NonZeroU32::new(per_address).unwrap(),
        sign_in_per_email: NonZeroU32::new(per_email).unwrap(),
        ..RateLimitSettings::default()
    }
}

#[tokio::test]
async fn a_flood_of_wrong_passwords_for_one_email_is_cut_off_while_others_sign_in() {
    let app = spawn_app_with_limits(limits(100, 5)).await;
    assert_eq!(app.signup("victim@test.dev", "secret1").await.status(), 201);
    assert_eq!(app.signup("other@test.dev", "secret2").await.status(), 201);

    // The sign-up spent one of the victim's five attempts.
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let response = app
            .signin(json!({ "email": "Victim@test.dev", "password": "guess" }))
            .await;
        let retry_after = response.headers().get("retry-after").cloned();
        let (status, body) = status_and_json(response).await;
        if status == 429 {
            let seconds: u64 = retry_after
                .expect("a 429 says when to retry")
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&seconds), "{seconds}");
            assert_eq!(
                body,
                json!({ "errors": [{ "message": "Too many attempts; try again later" }] })
            );
        }
        statuses.push(status);
    }
    assert_eq!(statuses, [[400; 4].as_slice(), &[429; 6]].concat());
    // Even the right password waits now: the flood cannot be told apart from its owner.
    let right = app
        .signin(json!({ "email": "victim@test.dev", "password": "secret1" }))
        .await;
    assert_eq!(right.status(), 429);

    let other = app
        .signin(json!({ "email": "other@test.dev", "password": "secret2" }))
        .await;
    assert_eq!(other.status(), 200);
}

#[tokio::test]
async fn one_address_is_cut_off_across_emails_and_others_are_not() {
    let app = spawn_app_with_limits(limits(3, 100)).await;
    let from = |address: &'static str, n: usize| {
        let app = &app;
        async move {
            app.api
                .request(reqwest::Method::POST, "/api/users/signin", None)
                .header("x-real-ip", address)
                .json(&json!({ "email": format!("user{n}@test.dev"), "password": "guess" }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let mut statuses = Vec::new();
    for n in 0..5 {
        statuses.push(from("203.0.113.7", n).await);
    }
    assert_eq!(statuses, [400, 400, 400, 429, 429]);
    assert_eq!(from("198.51.100.2", 9).await, 400);
}

#[tokio::test]
async fn input_that_is_refused_anyway_spends_no_attempt() {
    let app = spawn_app_with_limits(limits(100, 1)).await;
    for _ in 0..5 {
        let (status, _) = status_and_json(app.signin(json!({ "email": "a@test.dev" })).await).await;
        assert_eq!(status, 400);
    }
    let (status, body) = status_and_json(
        app.signin(json!({ "email": "a@test.dev", "password": "guess" }))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["errors"][0]["message"].clone()),
        (400, json!("Invalid credentials"))
    );
}
