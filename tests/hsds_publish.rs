//! The Open Referral UK (HSDS 3.0) publishing API under /hsds, end to end.
mod common;

use common::{TestApp, names, with_app};
use serde_json::{Value, json};

const HUB: &[&str] = &["test-youth-hub"];

fn items(page: &Value) -> &Vec<Value> {
    page["contents"].as_array().expect("contents")
}

/// The id of the one service a search finds.
async fn service_id(app: &TestApp, search: &str) -> String {
    let page = app
        .get_json(&format!("/hsds/services?minimal=true&search={search}"))
        .await;
    page["contents"][0]["id"]
        .as_str()
        .expect("a service")
        .to_string()
}

/// Taxonomy term id by code (category slug).
async fn term_id(app: &TestApp, code: &str) -> String {
    let terms = app.get_json("/hsds/taxonomy_terms?per_page=100").await;
    items(&terms)
        .iter()
        .find(|t| t["code"] == code)
        .and_then(|t| t["id"].as_str())
        .unwrap_or_else(|| panic!("no term {code}"))
        .to_string()
}

#[tokio::test]
async fn the_root_says_what_this_is() {
    with_app(HUB, |app| async move {
        let expected = json!({
            "version": "HSDS-UK-3.0",
            "profile": "https://openreferraluk.org",
            "openapi_url": "/openapi.json",
        });
        assert_eq!(app.get_json("/hsds/").await, expected);
        assert_eq!(app.get_json("/hsds").await, expected);
    })
    .await;
}

#[tokio::test]
async fn services_use_the_page_envelope_and_page_cleanly() {
    with_app(HUB, |app| async move {
        let all = app.get_json("/hsds/services").await;
        assert_eq!(all["total_items"], 14, "10 shipped + 4 fixture services");
        assert_eq!(all["size"], 20, "default page size");
        assert_eq!(all["page_number"], 1);
        assert_eq!(
            (&all["first_page"], &all["last_page"], &all["empty"]),
            (&json!(true), &json!(true), &json!(false))
        );
        let got = names(&all);
        let mut sorted = got.clone();
        sorted.sort_by_key(|n| n.to_lowercase());
        assert_eq!(got, sorted, "name order without a search");

        let p1 = app.get_json("/hsds/services?per_page=5").await;
        assert_eq!(p1["total_pages"], 3);
        assert_eq!(items(&p1).len(), 5);
        assert_eq!(
            (&p1["first_page"], &p1["last_page"]),
            (&json!(true), &json!(false))
        );
        let p3 = app.get_json("/hsds/services?per_page=5&page=3").await;
        assert_eq!(items(&p3).len(), 4);
        assert_eq!(
            (&p3["first_page"], &p3["last_page"]),
            (&json!(false), &json!(true))
        );
        let p4 = app.get_json("/hsds/services?per_page=5&page=4").await;
        assert_eq!(p4["empty"], true);
        assert!(items(&p4).is_empty());
        let mut joined = Vec::new();
        for page in 1..=3 {
            joined.extend(names(
                &app.get_json(&format!("/hsds/services?per_page=5&page={page}"))
                    .await,
            ));
        }
        assert_eq!(joined, got, "the pages together are the whole list");
        let max = app.get_json("/hsds/services?per_page=100").await;
        assert_eq!(max["size"], 100);
    })
    .await;
}

#[tokio::test]
async fn search_reuses_the_directory_index() {
    with_app(HUB, |app| async move {
        let got = names(&app.get_json("/hsds/services?search=BOX").await);
        assert_eq!(
            got,
            ["Boxing Basics", "Gloves Not Gunz boxing", "Evening Drop-in"],
            "name hits first"
        );
        let got = names(&app.get_json("/hsds/services?search=boxing%20basics").await);
        assert_eq!(got, ["Boxing Basics"]);
        let none = app.get_json("/hsds/services?search=zzzzzz").await;
        assert_eq!(none["total_items"], 0);
        assert_eq!(none["empty"], true);
        // Nothing to search for: everything.
        let blank = app.get_json("/hsds/services?search=%20").await;
        assert_eq!(blank["total_items"], 14);
    })
    .await;
}

#[tokio::test]
async fn taxonomies_and_terms() {
    with_app(HUB, |app| async move {
        let tax = app.get_json("/hsds/taxonomies").await;
        assert_eq!(tax["total_items"], 1);
        assert_eq!(tax["contents"][0]["id"], "signpost");
        assert_eq!(tax["contents"][0]["name"], "Signpost categories");
        assert!(tax["contents"][0]["description"].is_string());

        let categories = app.get_json("/v1/categories").await;
        let terms = app.get_json("/hsds/taxonomy_terms?per_page=100").await;
        assert_eq!(
            terms["total_items"].as_u64(),
            Some(categories.as_array().unwrap().len() as u64)
        );
        for t in items(&terms) {
            assert_eq!(t["taxonomy"], "signpost", "{t}");
            for field in ["id", "code", "name", "description", "parent_id"] {
                assert!(t.get(field).is_some(), "term has {field}: {t}");
            }
        }
        let by_code = |code: &str| {
            items(&terms)
                .iter()
                .find(|t| t["code"] == code)
                .unwrap_or_else(|| panic!("no {code}"))
                .clone()
        };
        let boxing = by_code("boxing");
        let sport = by_code("sport");
        assert_eq!(boxing["name"], "Boxing");
        assert_eq!(boxing["parent_id"], sport["id"]);
        assert!(by_code("positive-activities")["parent_id"].is_null());
        let small = app.get_json("/hsds/taxonomy_terms?per_page=2&page=2").await;
        assert_eq!(items(&small).len(), 2);
        assert_eq!(small["page_number"], 2);
    })
    .await;
}

#[tokio::test]
async fn filter_by_taxonomy_term() {
    with_app(HUB, |app| async move {
        let boxing = term_id(&app, "boxing").await;
        let page = app
            .get_json(&format!(
                "/hsds/services?taxonomy_term_id={boxing}&per_page=100"
            ))
            .await;
        let got = names(&page);
        assert!(got.contains(&"Boxing Basics".to_string()), "{got:?}");
        assert!(!got.contains(&"Evening Drop-in".to_string()), "{got:?}");
        for s in items(&page) {
            assert!(
                s["attributes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["taxonomy_term"]["code"] == "boxing"),
                "{s}"
            );
        }
        // A parent term takes in the terms below it.
        let sport = term_id(&app, "sport").await;
        let got = names(
            &app.get_json(&format!(
                "/hsds/services?taxonomy_term_id={sport}&per_page=100"
            ))
            .await,
        );
        assert!(got.contains(&"Boxing Basics".to_string()), "{got:?}");
        assert!(got.contains(&"Far Away Football".to_string()), "{got:?}");
        // Combined with a search.
        let got = names(
            &app.get_json(&format!(
                "/hsds/services?taxonomy_term_id={sport}&search=far"
            ))
            .await,
        );
        assert_eq!(got, ["Far Away Football"]);
    })
    .await;
}

#[tokio::test]
async fn modified_after_finds_what_changed() {
    with_app(HUB, |app| async move {
        // Everything was loaded at the test clock's 2026-06-15 12:00 UTC.
        let all = app
            .get_json("/hsds/services?modified_after=2026-06-15T11:00:00Z")
            .await;
        assert_eq!(all["total_items"], 14);
        let none = app
            .get_json("/hsds/services?modified_after=2026-06-15T12:00:00Z")
            .await;
        assert_eq!(none["total_items"], 0, "strictly after");

        app.clock.advance(chrono::Duration::hours(1));
        let text = app
            .content
            .read_org("test-youth-hub")
            .replace("name = \"Boxing Basics\"", "name = \"Boxing Basics Plus\"");
        app.content.write_org("test-youth-hub", &text);
        app.resync().await;
        let changed = app
            .get_json("/hsds/services?modified_after=2026-06-15T12:30:00Z")
            .await;
        assert_eq!(names(&changed), ["Boxing Basics Plus"]);
        assert_eq!(
            changed["contents"][0]["last_modified"],
            "2026-06-15T13:00:00Z"
        );
        // Any offset, encoded or not.
        for q in ["2026-06-15T13:30:00%2B01:00", "2026-06-15T13:30:00+01:00"] {
            let page = app
                .get_json(&format!("/hsds/services?modified_after={q}"))
                .await;
            assert_eq!(names(&page), ["Boxing Basics Plus"], "{q}");
        }
    })
    .await;
}

#[tokio::test]
async fn minimal_leaves_out_the_arrays() {
    with_app(HUB, |app| async move {
        const ARRAYS: [&str; 6] = [
            "service_at_locations",
            "schedules",
            "cost_options",
            "phones",
            "attributes",
            "languages",
        ];
        let minimal = app.get_json("/hsds/services?minimal=true").await;
        assert_eq!(minimal["total_items"], 14);
        for s in items(&minimal) {
            for field in ARRAYS {
                assert!(s.get(field).is_none(), "minimal has no {field}: {s}");
            }
            for field in ["id", "name", "description", "status", "organization"] {
                assert!(s.get(field).is_some(), "minimal has {field}: {s}");
            }
        }
        for query in ["", "?minimal=false"] {
            let full = app.get_json(&format!("/hsds/services{query}")).await;
            for s in items(&full) {
                for field in ARRAYS {
                    assert!(s[field].is_array(), "full has {field}: {s}");
                }
            }
        }
    })
    .await;
}

#[tokio::test]
async fn age_filters_overlap_the_service_range() {
    with_app(HUB, |app| async move {
        let list = |q: &'static str| {
            let app = &app;
            async move {
                names(
                    &app.get_json(&format!("/hsds/services?per_page=100&{q}"))
                        .await,
                )
            }
        };
        let has = |got: &Vec<String>, name: &str| got.contains(&name.to_string());
        // minimum_age=19: services whose maximum age is 19 or more.
        let got = list("minimum_age=19").await;
        assert!(has(&got, "Evening Drop-in"), "14–25: {got:?}");
        assert!(!has(&got, "Boxing Basics"), "12–18: {got:?}");
        // maximum_age=11: services whose minimum age is 11 or less.
        let got = list("maximum_age=11").await;
        assert!(has(&got, "Far Away Football"), "10–12: {got:?}");
        assert!(has(&got, "Hackney Homework Help"), "11–16: {got:?}");
        assert!(!has(&got, "Boxing Basics"), "12–18: {got:?}");
        assert!(!has(&got, "Evening Drop-in"), "14–25: {got:?}");
        // Both: the range must overlap 13–13.
        let got = list("minimum_age=13&maximum_age=13").await;
        assert!(has(&got, "Boxing Basics"), "{got:?}");
        assert!(!has(&got, "Far Away Football"), "{got:?}");
        assert!(!has(&got, "Evening Drop-in"), "{got:?}");
        // Every result fits.
        let page = app
            .get_json("/hsds/services?per_page=100&minimum_age=16&maximum_age=20")
            .await;
        for s in items(&page) {
            assert!(s["maximum_age"].as_u64().unwrap() >= 16, "{s}");
            assert!(s["minimum_age"].as_u64().unwrap() <= 20, "{s}");
        }
    })
    .await;
}

#[tokio::test]
async fn one_service_fully_nested() {
    with_app(HUB, |app| async move {
        // Give the fixture service a phone and languages.
        let text = app.content.read_org("test-youth-hub").replace(
            "max_age = 18\n",
            "max_age = 18\nphone = \"020 7946 0000\"\nlanguages = [\"English\", \"Turkish\"]\n",
        );
        app.content.write_org("test-youth-hub", &text);
        app.resync().await;

        let id = service_id(&app, "boxing%20basics").await;
        let s = app.get_json(&format!("/hsds/services/{id}")).await;
        assert_eq!(s["id"], id.as_str());
        assert_eq!(s["name"], "Boxing Basics");
        assert_eq!(s["description"], "Gloves, pads and fitness for beginners.");
        assert_eq!(s["status"], "active");
        assert_eq!(
            (&s["minimum_age"], &s["maximum_age"]),
            (&json!(12), &json!(18))
        );
        assert_eq!(s["last_modified"], "2026-06-15T12:00:00Z");
        assert!(s.get("assured_date").is_none());
        assert_eq!(s["organization"]["name"], "Test Youth Hub");
        assert!(s["organization"]["id"].is_string());
        for field in ["description", "website", "email"] {
            assert!(s["organization"].get(field).is_some(), "{field}");
        }

        let sals = s["service_at_locations"].as_array().unwrap();
        assert_eq!(sals.len(), 1);
        let loc = &sals[0]["location"];
        assert_eq!(loc["name"], "Hub gym");
        assert!(
            loc["latitude"].is_f64() && loc["longitude"].is_f64(),
            "{loc}"
        );
        let address = &loc["addresses"][0];
        assert_eq!(address["address_1"], "Test address");
        assert_eq!(address["postal_code"], "E8 3PL");
        assert_eq!(address["city"], "London");
        assert_eq!(address["state_province"], "Hackney");
        assert_eq!(address["country"], "GB");
        assert_eq!(address["address_type"], "physical");
        let place_hours = sals[0]["schedules"].as_array().unwrap();
        assert_eq!(place_hours.len(), 2);

        let schedules = s["schedules"].as_array().unwrap();
        assert_eq!(schedules.len(), 2);
        let monday = &schedules[0];
        assert_eq!(monday["byday"], "MO");
        assert_eq!(monday["opens_at"], "10:00");
        assert_eq!(monday["closes_at"], "14:00");
        assert_eq!(monday["freq"], "WEEKLY");
        assert_eq!(monday["description"], "At Hub gym");
        let friday = &schedules[1];
        assert_eq!(
            (&friday["byday"], &friday["opens_at"], &friday["closes_at"]),
            (&json!("FR"), &json!("20:00"), &json!("02:00"))
        );

        let costs = s["cost_options"].as_array().unwrap();
        assert_eq!(costs.len(), 1);
        assert_eq!(costs[0]["amount"], 0.0);
        assert_eq!(costs[0]["currency"], "GBP");
        assert!(costs[0]["option"].is_string());

        assert_eq!(s["phones"][0]["number"], "020 7946 0000");
        let languages = s["languages"].as_array().unwrap();
        assert_eq!(languages.len(), 2);
        assert_eq!(
            (&languages[1]["name"], &languages[1]["code"]),
            (&json!("Turkish"), &json!("tr"))
        );

        let attributes = s["attributes"].as_array().unwrap();
        assert_eq!(attributes.len(), 1);
        let term = &attributes[0]["taxonomy_term"];
        assert_eq!(term["code"], "boxing");
        assert_eq!(term["taxonomy"], "signpost");
        assert_eq!(
            term["id"].as_str(),
            Some(term_id(&app, "boxing").await.as_str())
        );

        // Nested ids are unique, and the same on every request.
        let mut ids: Vec<Value> = vec![
            s["id"].clone(),
            sals[0]["id"].clone(),
            loc["id"].clone(),
            address["id"].clone(),
            costs[0]["id"].clone(),
            s["phones"][0]["id"].clone(),
            attributes[0]["id"].clone(),
        ];
        ids.extend(schedules.iter().map(|x| x["id"].clone()));
        ids.extend(place_hours.iter().map(|x| x["id"].clone()));
        ids.extend(languages.iter().map(|x| x["id"].clone()));
        assert!(
            ids.iter()
                .all(|i| i.as_str().is_some_and(|i| i.len() == 36)),
            "{ids:?}"
        );
        let unique: std::collections::HashSet<String> = ids.iter().map(|i| i.to_string()).collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        assert_eq!(app.get_json(&format!("/hsds/services/{id}")).await, s);

        // A paid service: its cost as written, no amount. No street address: the place's name.
        let paid_id = service_id(&app, "evening").await;
        let paid = app.get_json(&format!("/hsds/services/{paid_id}")).await;
        let costs = paid["cost_options"].as_array().unwrap();
        assert_eq!(costs.len(), 1);
        assert_eq!(costs[0]["option"], "£2 a session");
        assert!(costs[0].get("amount").is_none());
        let address = &paid["service_at_locations"][0]["location"]["addresses"][0];
        assert_eq!(address["address_1"], "Hub hall");
        assert_eq!(address["postal_code"], "E8 2AA");
        assert_eq!(paid["schedules"][0]["byday"], "SU");
        assert!(paid["phones"].as_array().unwrap().is_empty());

        // No place of its own: no service_at_locations, no schedules.
        let online_id = service_id(&app, "homework").await;
        let online = app.get_json(&format!("/hsds/services/{online_id}")).await;
        assert!(
            online["service_at_locations"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        assert!(online["schedules"].as_array().unwrap().is_empty());

        // The list shows the same nesting as the single service.
        let listed = app.get_json("/hsds/services?search=boxing%20basics").await;
        assert_eq!(listed["contents"][0], s);
    })
    .await;
}

#[tokio::test]
async fn unknown_and_malformed_service_ids() {
    with_app(HUB, |app| async move {
        app.get_problem("/hsds/services/01890a5d-ac96-774b-bcce-b302099a8057", 404)
            .await;
        let problem = app.get_problem("/hsds/services/not-a-uuid", 422).await;
        assert_eq!(problem["errors"][0]["field"], "id");
    })
    .await;
}

#[tokio::test]
async fn service_at_locations_nearest_first() {
    with_app(HUB, |app| async move {
        let all = app
            .get_json("/hsds/service_at_locations?per_page=100")
            .await;
        assert_eq!(
            all["total_items"].as_i64(),
            Some(app.count("SELECT COUNT(*) FROM locations").await)
        );
        for sal in items(&all) {
            assert!(sal["location"].get("distance").is_none(), "{sal}");
            assert!(sal["service"]["id"].is_string() && sal["service"]["name"].is_string());
            assert!(sal["id"].is_string() && sal["schedules"].is_array());
        }

        let near = app
            .get_json("/hsds/service_at_locations?postcode=E8%203PL&proximity=3000")
            .await;
        let list = items(&near);
        assert!(list.len() >= 2, "{near}");
        assert_eq!(list[0]["service"]["name"], "Boxing Basics");
        assert_eq!(list[0]["location"]["name"], "Hub gym");
        assert_eq!(list[0]["location"]["distance"], 0);
        assert_eq!(list[0]["location"]["addresses"][0]["postal_code"], "E8 3PL");
        assert_eq!(list[0]["schedules"][0]["byday"], "MO");
        assert_eq!(list[1]["service"]["name"], "Evening Drop-in");
        let distances: Vec<u64> = list
            .iter()
            .map(|s| s["location"]["distance"].as_u64().expect("distance"))
            .collect();
        assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
        assert!(distances.iter().all(|&d| d <= 3000), "{distances:?}");
        assert!(distances[1] > 500, "{distances:?}");
        assert!(
            !list
                .iter()
                .any(|s| s["service"]["name"] == "Far Away Football"),
            "Bromley is far from E8"
        );
        // A smaller circle holds fewer; the default is 5 km; an outward code works too.
        let tight = app
            .get_json("/hsds/service_at_locations?postcode=e83pl&proximity=100")
            .await;
        assert_eq!(tight["total_items"], 1);
        let default = app
            .get_json("/hsds/service_at_locations?postcode=E8%203PL")
            .await;
        assert!(default["total_items"].as_u64() >= near["total_items"].as_u64());
        let outward = app.get_json("/hsds/service_at_locations?postcode=E8").await;
        assert!(
            items(&outward)
                .iter()
                .any(|s| s["service"]["name"] == "Boxing Basics")
        );
    })
    .await;
}

#[tokio::test]
async fn every_bad_parameter_is_a_422_naming_it() {
    with_app(HUB, |app| async move {
        let cases = [
            ("/hsds/services?per_page=101", "per_page"),
            ("/hsds/services?per_page=0", "per_page"),
            ("/hsds/services?page=0", "page"),
            ("/hsds/services?page=-1", "page"),
            ("/hsds/services?taxonomy_term_id=nope", "taxonomy_term_id"),
            (
                "/hsds/services?taxonomy_term_id=01890a5d-ac96-774b-bcce-b302099a8057",
                "taxonomy_term_id",
            ),
            ("/hsds/services?modified_after=yesterday", "modified_after"),
            ("/hsds/services?modified_after=2026-06-15", "modified_after"),
            ("/hsds/services?minimal=maybe", "minimal"),
            ("/hsds/services?minimum_age=old", "minimum_age"),
            ("/hsds/services?minimum_age=-1", "minimum_age"),
            ("/hsds/services?maximum_age=ten", "maximum_age"),
            (
                "/hsds/services?minimum_age=20&maximum_age=12",
                "minimum_age",
            ),
            ("/hsds/taxonomy_terms?per_page=101", "per_page"),
            ("/hsds/taxonomies?page=0", "page"),
            ("/hsds/service_at_locations?per_page=101", "per_page"),
            ("/hsds/service_at_locations?page=0", "page"),
            (
                "/hsds/service_at_locations?postcode=not-a-place",
                "postcode",
            ),
            ("/hsds/service_at_locations?postcode=EH1%202NG", "postcode"),
            ("/hsds/service_at_locations?proximity=3000", "proximity"),
            (
                "/hsds/service_at_locations?postcode=E8&proximity=0",
                "proximity",
            ),
            (
                "/hsds/service_at_locations?postcode=E8&proximity=50001",
                "proximity",
            ),
            (
                "/hsds/service_at_locations?postcode=E8&proximity=far",
                "proximity",
            ),
        ];
        for (path, field) in cases {
            let problem = app.get_problem(path, 422).await;
            let fields: Vec<&str> = problem["errors"]
                .as_array()
                .unwrap_or_else(|| panic!("{path}: {problem}"))
                .iter()
                .map(|e| e["field"].as_str().unwrap())
                .collect();
            assert!(
                fields.contains(&field),
                "{path}: expected {field} in {problem}"
            );
            assert!(
                problem["errors"][0]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
            );
        }
        // The edges that are fine.
        app.get_json("/hsds/services?per_page=100&page=1").await;
        app.get_json("/hsds/service_at_locations?postcode=E8&proximity=50000")
            .await;
        app.get_json("/hsds/service_at_locations?postcode=E8&proximity=1")
            .await;
    })
    .await;
}

#[tokio::test]
async fn any_origin_may_read() {
    with_app(HUB, |app| async move {
        for path in ["/hsds/", "/hsds/services", "/hsds/taxonomy_terms"] {
            let res = app
                .client
                .get(format!("{}{path}", app.url))
                .header("Origin", "https://directory.example.org")
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{path}");
            assert_eq!(res.headers()["access-control-allow-origin"], "*", "{path}");
            assert!(res.headers().contains_key("etag"), "{path}");
        }
    })
    .await;
}

#[tokio::test]
async fn the_paths_are_in_the_openapi_document() {
    with_app(&[], |app| async move {
        let doc = app.get_json("/openapi.json").await;
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/hsds/",
            "/hsds/services",
            "/hsds/services/{id}",
            "/hsds/taxonomies",
            "/hsds/taxonomy_terms",
            "/hsds/service_at_locations",
        ] {
            let get = &paths
                .get(path)
                .unwrap_or_else(|| panic!("{path} documented"))["get"];
            assert_eq!(get["tags"][0], "hsds", "{path}");
        }
        let params: Vec<&str> = doc["paths"]["/hsds/services"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for name in [
            "search",
            "taxonomy_term_id",
            "modified_after",
            "minimal",
            "minimum_age",
            "maximum_age",
            "page",
            "per_page",
        ] {
            assert!(params.contains(&name), "{name} in {params:?}");
        }
        assert!(doc["components"]["schemas"]["HsdsService"].is_object());
    })
    .await;
}
