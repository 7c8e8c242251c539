//! Headless Chromium through chromedriver, driven with `fantoccini`: the test starts
//! chromedriver itself (in its own process group, so nothing outlives a failed test) and wraps
//! each browser in a small `Session` that waits for what a person would see.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// Where chromedriver is: `CHROMEDRIVER`, or Debian's `chromium-driver` package.
pub fn find_chromedriver() -> Option<PathBuf> {
    let candidates = [
        std::env::var("CHROMEDRIVER").ok().map(PathBuf::from),
        Some(PathBuf::from("/usr/bin/chromedriver")),
        Some(PathBuf::from("/usr/lib/chromium/chromedriver")),
    ];
    candidates.into_iter().flatten().find(|path| path.is_file())
}

/// A chromedriver process and the browsers it started, all stopped when dropped (also when a
/// test fails half-way, before it could close its sessions).
pub struct Driver {
    process: Child,
    url: String,
}

impl Driver {
    pub async fn start(chromedriver: &Path) -> Driver {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let process = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, which the browsers inherit, so that drop can end them all.
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver {
            process,
            url: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return driver;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not listen on port {port}");
    }

    /// A new browser with its own profile, so its own cookies.
    pub async fn session(&self, screenshots: &Path, who: &str) -> Session {
        let chrome = json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1100,900", "--lang=en-US", "--disable-crash-reporter",
                     "--disable-breakpad", "--disable-background-networking", "--no-first-run",
                     "--disable-component-update", "--disable-sync"]
        });
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".into(), chrome);
        let browser = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|error| panic!("no browser session for {who}: {error}"));
        Session {
            browser,
            screenshots: screenshots.to_owned(),
            who: who.to_owned(),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.process.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.process.wait();
    }
}

/// One browser.
pub struct Session {
    browser: Client,
    screenshots: PathBuf,
    who: String,
}

impl Session {
    pub async fn goto(&self, url: &str) {
        self.browser
            .goto(url)
            .await
            .unwrap_or_else(|error| panic!("{}: {url}: {error}", self.who));
    }

    pub async fn current_url(&self) -> String {
        self.browser
            .current_url()
            .await
            .expect("a current URL")
            .to_string()
    }

    /// The elements matching a CSS selector, now.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.browser
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("{}: finding {css}: {error}", self.who))
    }

    /// Waits up to `seconds` for an element matching `css` whose text contains `text`.
    pub async fn wait_for(&self, css: &str, text: &str, seconds: u64) -> Element {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            for element in self.find_all(css).await {
                if self.text(&element).await.contains(text) {
                    return element;
                }
            }
            if tokio::time::Instant::now() > deadline {
                let page = self.browser.source().await.unwrap_or_default();
                panic!(
                    "{}: no `{css}` containing {text:?} after {seconds}s on {}:\n{page}",
                    self.who,
                    self.current_url().await
                );
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    pub async fn text(&self, element: &Element) -> String {
        // The element can go away between finding it and reading it when the page reloads.
        element.text().await.unwrap_or_default()
    }

    pub async fn property(&self, element: &Element, name: &str) -> Value {
        match element.prop(name).await.expect("a property") {
            Some(value) => serde_json::from_str(&value).unwrap_or(Value::String(value)),
            None => Value::Null,
        }
    }

    pub async fn click(&self, element: &Element) {
        element
            .click()
            .await
            .unwrap_or_else(|error| panic!("{}: click: {error}", self.who));
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.wait_for(css, "", 5).await;
        element.clear().await.expect("the field clears");
        element.send_keys(text).await.expect("the field takes keys");
    }

    /// Makes the window this size (a long page in one screenshot).
    pub async fn resize(&self, width: u32, height: u32) {
        self.browser
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|error| panic!("{}: resize: {error}", self.who));
    }

    /// Saves a PNG of the window as `<screenshots>/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.browser.screenshot().await.expect("a screenshot");
        std::fs::write(self.screenshots.join(format!("{name}.png")), png).unwrap();
    }

    pub async fn close(self) {
        self.browser.close().await.expect("the browser closes");
    }
}
