//! What the fleet does against abuse, through the gateway of the running fleet: the gateway's own
//! answers, the rate limits, cross-site form posts. Ignored by a plain `cargo test`:
//! `scripts/test.sh` starts the fleet and runs them.

use common::testkit::{TestClient, status_and_json};
use e2e::{Person, gateway};
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::json;
use std::time::Instant;

const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test]
#[ignore = "needs the running fleet: scripts/test.sh runs it"]
async fn the_gateway_answers_an_unknown_method_with_405_and_allow() {
    let api = gateway();
    for path in ["/api/tickets", "/"] {
        let response = api.request(Method::TRACE, path, None).send().await.unwrap();
        assert_eq!(response.status(), 405, "{path}");
        let allow = response.headers().get("allow").expect("an Allow header");
        assert_eq!(allow, "GET, HEAD, POST, PUT, DELETE");
    }
}

#[tokio::test]
#[ignore = "needs the running fleet: scripts/test.sh runs it"]
async fn answers_say_nosniff_and_pages_and_api_are_not_stored() {
    let api = gateway();
    let person = Person::sign_up(&api).await;
    for path in ["/api/users/currentuser", "/api/orders", "/orders", "/"] {
        let response = api.get(path, Some(&person.cookie)).await;
        let headers = response.headers();
        assert_eq!(
            headers.get("x-content-type-options").unwrap(),
            "nosniff",
            "{path}"
        );
        assert_eq!(headers.get("cache-control").unwrap(), "no-store", "{path}");
    }
}

#[tokio::test]
#[ignore = "needs the running fleet: scripts/test.sh runs it"]
async fn a_flood_of_wrong_passwords_for_one_email_is_cut_off_while_another_user_signs_in() {
    let api = gateway();
    let victim = Person::sign_up(&api).await;
    let other = Person::sign_up(&api).await;
    let (_, me) = victim.get("/api/users/currentuser").await;
    let email = me["currentUser"]["email"].as_str().unwrap().to_owned();
    let (_, me) = other.get("/api/users/currentuser").await;
    let other_email = me["currentUser"]["email"].as_str().unwrap().to_owned();

    // The default limit: 10 attempts per email, refilled one every 6 s.
    let started = Instant::now();
    let mut refused = 0;
    for _ in 0..20 {
        let response = wrong_password(&api, &email).await;
        let retry_after = response.headers().get("retry-after").cloned();
        let (status, body) = status_and_json(response).await;
        match status {
            400 => assert_eq!(body["errors"][0]["message"], "Invalid credentials"),
            429 => {
                refused += 1;
                assert!(retry_after.is_some(), "a 429 says when to retry");
                assert_eq!(
                    body,
                    json!({ "errors": [{ "message": "Too many attempts; try again later" }] })
                );
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let refills = (started.elapsed().as_secs_f64() / 6.0).ceil() as u32;
    assert!(
        20 - refused <= 10 + refills,
        "{} of 20 answered in {:?}: the limit lets 10 through, and {refills} refilled",
        20 - refused,
        started.elapsed()
    );

    let (status, body) = status_and_json(
        api.post(
            "/api/users/signin",
            &json!({ "email": other_email, "password": "password" }),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // The sign-in page tells the flooded email's owner to wait, on the form. The
    // limit refills one attempt every few seconds, so the form is posted right
    // after the API has refused the email again (a refill can still land in that
    // gap, hence a few tries).
    let mut page = None;
    for _ in 0..3 {
        for _ in 0..20 {
            if wrong_password(&api, &email).await.status() == 429 {
                break;
            }
        }
        let response = api
            .request(Method::POST, "/auth/signin", None)
            .header(CONTENT_TYPE, FORM)
            .body(format!(
                "email={}&password=password",
                email.replace('@', "%40")
            ))
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            page = Some(response.text().await.unwrap());
            break;
        }
    }
    let html = page.expect("the sign-in form was never refused with 429");
    assert!(
        html.contains("Too many attempts; try again later"),
        "{html}"
    );
    assert!(html.contains("<h1>Sign in</h1>"), "{html}");
}

async fn wrong_password(api: &TestClient, email: &str) -> reqwest::Response {
    api.post(
        "/api/users/signin",
        &json!({ "email": email, "password": "wrong" }),
        None,
    )
    .await
}

#[tokio::test]
#[ignore = "needs the running fleet: scripts/test.sh runs it"]
async fn forms_posted_from_another_site_are_refused() {
    let api = gateway();
    let person = Person::sign_up(&api).await;
    let sell = "title=Cross-site&price=10";
    let forged = api
        .request(Method::POST, "/tickets/new", Some(&person.cookie))
        .header("origin", "https://evil.example")
        .header(CONTENT_TYPE, FORM)
        .body(sell)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let signout = api
        .request(Method::POST, "/auth/signout", Some(&person.cookie))
        .header("referer", "https://evil.example/")
        .send()
        .await
        .unwrap();
    assert_eq!(signout.status(), 403);
    let (_, me) = person.get("/api/users/currentuser").await;
    assert!(me["currentUser"].is_object(), "still signed in: {me}");

    // From the site itself (the browser's Origin is the gateway's), the same form works.
    let ours = api
        .request(Method::POST, "/tickets/new", Some(&person.cookie))
        .header("origin", api.base.trim_end_matches('/'))
        .header(CONTENT_TYPE, FORM)
        .body(sell)
        .send()
        .await
        .unwrap();
    assert_eq!(ours.status(), 303, "{:?}", ours.text().await);
}

#[tokio::test]
#[ignore = "needs the running fleet: scripts/test.sh runs it"]
async fn signing_out_revokes_the_cookie_in_every_service_at_once() {
    let api = gateway();
    let person = Person::sign_up(&api).await;
    let listed = person.sell("Revoked seller's ticket", "10").await;
    let ticket = listed["id"].as_str().unwrap().to_owned();
    assert_eq!(person.get("/api/orders").await.0, 200);

    let signout = api
        .post("/api/users/signout", &json!({}), Some(&person.cookie))
        .await;
    assert_eq!(signout.status(), 200);
    let signed_out = std::time::Instant::now();

    // Each service refuses the old cookie; how long each took to learn of it is printed. The
    // probes change nothing while the cookie still works (an edit without a title is a 400 for
    // its owner): the other services learn of a sign-out within milliseconds, not at once.
    let edit = json!({ "title": "", "price": 11 });
    let pay = json!({ "orderId": ticket, "token": "tok_visa" });
    let checks: [(&str, Method, String, Option<serde_json::Value>); 4] = [
        ("auth", Method::GET, "/api/users/currentuser".into(), None),
        (
            "tickets",
            Method::PUT,
            format!("/api/tickets/{ticket}"),
            Some(edit),
        ),
        ("orders", Method::GET, "/api/orders".into(), None),
        ("payments", Method::POST, "/api/payments".into(), Some(pay)),
    ];
    for (service, method, path, body) in checks {
        let what = format!("{service} to refuse");
        common::testkit::eventually(&what, || {
            let mut request = api.request(method.clone(), &path, Some(&person.cookie));
            if let Some(body) = &body {
                request = request.json(body);
            }
            async move {
                let (status, answer) = status_and_json(request.send().await.unwrap()).await;
                let anonymous = status == 401 || answer == json!({ "currentUser": null });
                anonymous.then_some(())
            }
        })
        .await;
        println!(
            "{service} refused the old cookie {:?} after sign-out",
            signed_out.elapsed()
        );
    }
    assert!(
        signed_out.elapsed() < std::time::Duration::from_secs(2),
        "every service refused it within 2 s: {:?}",
        signed_out.elapsed()
    );
}
