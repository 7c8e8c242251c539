//! The buyer's journey in a real headless Chromium, through the running fleet's gateway: a seller lists a ticket, a buyer buys it and pays with Stripe's test token,
//! sees the order complete in My orders, and the seller can no longer edit the ticket.
//! Screenshots of each step go to `target/screenshots/browser/`.
//!
//! `api_docs`: the API's docs page shows every service's operations (a screenshot in
//! `target/screenshots/api-docs/`).
//!
//! Run with the fleet up (`scripts/fleet.sh --detach`): `cargo test -p client --test browser --
//! --ignored`; `GATEWAY_URL=http://...` points it at another gateway.
//! Needs Debian's `chromium` and `chromium-driver` (or `CHROMIUM`/`CHROMEDRIVER` pointing at them).

mod api_docs;
mod webdriver;

use std::path::{Path, PathBuf};

use webdriver::{Driver, Session, find_chromedriver};

/// The real fleet completes an order asynchronously, and pages may refresh until it has.
const PATIENCE: u64 = 20;

/// `target/screenshots/<name>`.
fn screenshot_dir(name: &str) -> PathBuf {
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = target
        .parent()
        .unwrap_or(&target)
        .join("screenshots")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `GATEWAY_URL` when it is set, else the gateway of the running fleet (its state,
/// `$FLEET_DIR/fleet.json`, as the end-to-end tests read it).
fn gateway() -> String {
    let url = match std::env::var("GATEWAY_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            fleet::State::load(fleet::fleet_dir())
                .expect("the running fleet (or GATEWAY_URL)")
                .gateway
                .url
        }
    };
    url.trim_end_matches('/').to_owned()
}

/// Chromedriver, or a loud note that the test is skipped without it.
fn chromedriver_or_skip() -> Option<PathBuf> {
    let found = find_chromedriver();
    if found.is_none() {
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! SKIPPED: the browser test needs chromedriver (apt-get install chromium   !!!\n\
             !!! chromium-driver), and none is installed.                                 !!!\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
    }
    found
}

async fn start_driver(chromedriver: &Path) -> Driver {
    Driver::start(chromedriver).await
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos:x}")
}

async fn sign_up(browser: &Session, gateway: &str, email: &str) {
    browser.goto(&format!("{gateway}/auth/signup")).await;
    browser.type_into("input[name=email]", email).await;
    browser.type_into("input[name=password]", "password").await;
    let submit = browser
        .wait_for("main form button[type=submit]", "Sign up", 5)
        .await;
    browser.click(&submit).await;
    // The header shows the account once the session cookie came through the client.
    browser.wait_for("header .who", email, PATIENCE).await;
}

#[tokio::test]
#[ignore = "needs the running fleet and Chromium; run by the e2e step"]
async fn a_buyer_buys_and_pays_for_a_ticket_in_a_real_browser() {
    let gateway = gateway();
    let Some(chromedriver) = chromedriver_or_skip() else {
        return;
    };
    let shots = screenshot_dir("browser");
    let driver = start_driver(&chromedriver).await;
    let seller = driver.session(&shots, "seller").await;
    let buyer = driver.session(&shots, "buyer").await;
    let title = unique("E2E concert");

    // The seller signs up and lists a ticket.
    sign_up(&seller, &gateway, &format!("{}@seller.test", unique("s"))).await;
    seller.screenshot("01-seller-signed-up").await;
    seller.goto(&format!("{gateway}/tickets/new")).await;
    seller.type_into("input[name=title]", &title).await;
    seller.type_into("input[name=price]", "12.5").await;
    seller.screenshot("02-seller-sells").await;
    let sell = seller
        .wait_for("main form button[type=submit]", "Sell ticket", 5)
        .await;
    seller.click(&sell).await;
    seller.wait_for("h1", &title, PATIENCE).await;
    seller.wait_for("main", "$12.50", 5).await;
    let ticket_url = seller.current_url().await;
    assert!(ticket_url.contains("/tickets/"), "{ticket_url}");
    seller.screenshot("03-seller-ticket-listed").await;

    // The buyer signs up in their own browser, finds the ticket and buys it.
    sign_up(&buyer, &gateway, &format!("{}@buyer.test", unique("b"))).await;
    let listed = buyer.wait_for("main table a", &title, PATIENCE).await;
    buyer.screenshot("04-buyer-sees-tickets").await;
    buyer.click(&listed).await;
    let purchase = buyer
        .wait_for("main form button[type=submit]", "Purchase", PATIENCE)
        .await;
    buyer.screenshot("05-buyer-ticket").await;
    buyer.click(&purchase).await;

    // The order page: a countdown and the test cards; tok_visa is preselected.
    buyer
        .wait_for("h1", &format!("Order for {title}"), PATIENCE)
        .await;
    buyer.wait_for("time[role=timer]", "second", 5).await;
    buyer.screenshot("06-buyer-order").await;
    let visa = buyer.wait_for("input[value=tok_visa]", "", 5).await;
    assert_eq!(buyer.property(&visa, "checked").await, true);
    let pay = buyer
        .wait_for("form[action$='/pay'] button[type=submit]", "Pay $12.50", 5)
        .await;
    buyer.click(&pay).await;
    buyer
        .wait_for("[data-status=complete]", "Complete", PATIENCE)
        .await;
    buyer.screenshot("07-buyer-paid").await;

    // My orders shows it complete.
    buyer.goto(&format!("{gateway}/orders")).await;
    let row = buyer.wait_for("main tbody tr", &title, PATIENCE).await;
    assert!(
        buyer.text(&row).await.contains("Complete"),
        "{}",
        buyer.text(&row).await
    );
    buyer.screenshot("08-buyer-my-orders").await;

    // The seller can no longer edit the sold ticket.
    seller.goto(&ticket_url).await;
    seller.wait_for("main", "reserved", PATIENCE).await;
    assert!(
        seller.find_all("a[href$='/edit']").await.is_empty(),
        "no edit link on a sold ticket"
    );
    seller.goto(&format!("{ticket_url}/edit")).await;
    seller
        .wait_for("main", "can no longer be edited", PATIENCE)
        .await;
    assert!(
        seller.find_all("input[name=title]").await.is_empty(),
        "no edit form"
    );
    seller.screenshot("09-seller-cannot-edit").await;

    seller.close().await;
    buyer.close().await;
    eprintln!("browser screenshots: {}", shots.display());
}
