//! The cases and how they run: at once, except those of one lane (they change the same thing).

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt};

use crate::expect::Expect;
use crate::fixture::{Fixture, Target};
use crate::raw_http::{Answer, Req, send};

/// Requests in flight at once: enough to finish in seconds, few enough for a 2-core machine.
const CONCURRENCY: usize = 6;

pub struct Case {
    pub route: String,
    pub name: String,
    pub target: Target,
    pub req: Req,
    pub expect: Expect,
    /// Cases of one lane run one after another (they change the same thing); the rest at once.
    pub lane: Option<String>,
}

/// Sends every case; the answers (or why there was none) in the order of the cases.
pub async fn run(cases: &[Case]) -> Vec<Result<Answer, String>> {
    let mut lanes: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        match &case.lane {
            Some(lane) => lanes.entry(lane.as_str()).or_default().push(index),
            None => groups.push(vec![index]),
        }
    }
    // The long lanes first, so they do not finish last.
    let mut ordered: Vec<Vec<usize>> = lanes.into_values().collect();
    ordered.extend(groups);
    let answered: Vec<(usize, Result<Answer, String>)> = stream::iter(ordered)
        .map(|group| async move {
            let mut out = Vec::new();
            for index in group {
                let case = &cases[index];
                out.push((index, send(&case.target, &case.req).await));
            }
            out
        })
        .buffer_unordered(CONCURRENCY)
        .flat_map(stream::iter)
        .collect()
        .await;
    let mut slots: Vec<Option<Result<Answer, String>>> = (0..cases.len()).map(|_| None).collect();
    for (index, outcome) in answered {
        slots[index] = Some(outcome);
    }
    slots
        .into_iter()
        .map(|slot| slot.expect("every case ran"))
        .collect()
}

/// The cases, in the order they are reported.
pub struct Cases<'a> {
    pub fx: &'a Fixture,
    cases: Vec<Case>,
    /// Makes every generated email (and so every signup) unique.
    serial: usize,
}

impl<'a> Cases<'a> {
    pub fn new(fx: &'a Fixture) -> Self {
        Cases {
            fx,
            cases: Vec::new(),
            serial: 0,
        }
    }

    pub fn into_cases(self) -> Vec<Case> {
        self.cases
    }

    /// A case through the gateway.
    pub fn add(&mut self, route: &str, name: impl Into<String>, req: Req, expect: Expect) {
        self.add_in_lane(route, name, req, expect, None);
    }

    /// A case through the gateway, run after the earlier cases of `lane` (when it has one).
    pub fn add_in_lane(
        &mut self,
        route: &str,
        name: impl Into<String>,
        req: Req,
        expect: Expect,
        lane: Option<String>,
    ) {
        let target = self.fx.gateway.clone();
        self.push(&target, route, name, req, expect, lane);
    }

    /// A case straight to `target`.
    pub fn add_to(
        &mut self,
        target: &Target,
        route: &str,
        name: impl Into<String>,
        req: Req,
        expect: Expect,
    ) {
        self.push(target, route, name, req, expect, None);
    }

    fn push(
        &mut self,
        target: &Target,
        route: &str,
        name: impl Into<String>,
        req: Req,
        expect: Expect,
        lane: Option<String>,
    ) {
        self.cases.push(Case {
            route: route.to_owned(),
            name: name.into(),
            target: target.clone(),
            req,
            expect,
            lane,
        });
    }

    pub fn next_serial(&mut self) -> usize {
        self.serial += 1;
        self.serial
    }

    pub fn cookie(&self) -> Option<&'a [u8]> {
        Some(self.fx.cookie.as_bytes())
    }
}
