//! GET /v1/services and the directory's reference lists, end to end.
mod common;

use chrono::{TimeZone, Utc};
use common::{TestApp, names, with_app};
use serde_json::Value;

const HUB: &[&str] = &["test-youth-hub"];

async fn active_services(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM services WHERE active = TRUE")
        .await
}

#[tokio::test]
async fn lists_every_active_service_in_name_order_with_the_page_envelope() {
    with_app(HUB, |app| async move {
        let page = app.get_json("/v1/services?per_page=100").await;
        let stored = active_services(&app).await;
        assert_eq!(stored, 14, "10 shipped + 4 fixture services are stored");
        assert_eq!(page["total_items"], stored);
        assert_eq!(page["total_pages"], 1);
        assert_eq!(page["page_number"], 1);
        assert_eq!(page["size"], 100);
        assert_eq!(page["first_page"], true);
        assert_eq!(page["last_page"], true);
        assert_eq!(page["empty"], false);
        let got = names(&page);
        let mut sorted = got.clone();
        sorted.sort_by_key(|n| n.to_lowercase());
        assert_eq!(got, sorted, "default order is by name");
        let first = &page["contents"][0];
        for field in [
            "id",
            "name",
            "summary",
            "organisation",
            "programmes",
            "categories",
            "min_age",
            "max_age",
            "free",
            "boroughs",
            "accepts_self_referral",
            "nearest_location",
        ] {
            assert!(first.get(field).is_some(), "list item has {field}: {first}");
        }
        assert!(
            first.get("distance_km").is_none(),
            "no distance without a place"
        );
    })
    .await;
}

#[tokio::test]
async fn paging_edges() {
    with_app(HUB, |app| async move {
        let p1 = app.get_json("/v1/services?per_page=5").await;
        assert_eq!(
            (p1["total_items"].as_u64(), p1["total_pages"].as_u64()),
            (Some(14), Some(3))
        );
        assert_eq!(p1["contents"].as_array().unwrap().len(), 5);
        let p3 = app.get_json("/v1/services?per_page=5&page=3").await;
        assert_eq!(p3["contents"].as_array().unwrap().len(), 4);
        assert_eq!(p3["last_page"], true);
        assert_eq!(p3["first_page"], false);
        let p4 = app.get_json("/v1/services?per_page=5&page=4").await;
        assert_eq!(p4["empty"], true);
        assert_eq!(p4["contents"].as_array().unwrap().len(), 0);
        // The pages together are the whole list, each service once.
        let mut all = Vec::new();
        for page in 1..=3 {
            all.extend(names(
                &app.get_json(&format!("/v1/services?per_page=5&page={page}"))
                    .await,
            ));
        }
        let whole = names(&app.get_json("/v1/services?per_page=100").await);
        assert_eq!(all, whole);
    })
    .await;
}

/// Only the requested page is put in order; every page must still be the matching slice
/// of the whole ordered list, in every order, with the same totals.
#[tokio::test]
async fn pages_of_every_order_join_up_to_the_whole_list() {
    with_app(HUB, |app| async move {
        for query in [
            "sort=name",
            "q=redthread",
            "q=b",
            "near=E8%203PL&radius_km=50",
            "near=E8%203PL&radius_km=50&sort=name",
            "q=a&near=E8&radius_km=20&sort=distance",
        ] {
            let whole = app
                .get_json(&format!("/v1/services?{query}&per_page=100"))
                .await;
            let total = whole["total_items"].as_u64().unwrap();
            assert!(total >= 2, "{query}: too few matches to page ({total})");
            let mut joined = Vec::new();
            for page in 1..=total.div_ceil(2) + 1 {
                let p = app
                    .get_json(&format!("/v1/services?{query}&per_page=2&page={page}"))
                    .await;
                assert_eq!(p["total_items"], total, "{query} page {page}");
                joined.extend(
                    p["contents"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| (s["id"].clone(), s.get("distance_km").cloned())),
                );
            }
            let expected: Vec<_> = whole["contents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| (s["id"].clone(), s.get("distance_km").cloned()))
                .collect();
            assert_eq!(joined, expected, "{query}");
        }
    })
    .await;
}

#[tokio::test]
async fn text_search_is_case_insensitive_on_word_prefixes_and_ranks_name_hits_first() {
    with_app(HUB, |app| async move {
        let page = app.get_json("/v1/services?q=BOX").await;
        let got = names(&page);
        assert_eq!(got.len(), 3, "{got:?}");
        // Name hits first (alphabetical among equals), description-only hit last.
        assert_eq!(
            got,
            ["Boxing Basics", "Gloves Not Gunz boxing", "Evening Drop-in"]
        );
        // Organisation names are searched too.
        let got = names(&app.get_json("/v1/services?q=redthread").await);
        assert_eq!(got.len(), 4);
        // Every word must match.
        let got = names(&app.get_json("/v1/services?q=boxing%20basics").await);
        assert_eq!(got, ["Boxing Basics"]);
        // Category names are searched.
        let got = names(&app.get_json("/v1/services?q=football").await);
        assert!(
            got.contains(&"Far Away Football".to_string())
                && got.contains(&"Football Beyond Borders".to_string()),
            "{got:?}"
        );
        let empty = app.get_json("/v1/services?q=zzzzzz").await;
        assert_eq!(empty["total_items"], 0);
        assert_eq!(empty["empty"], true);
    })
    .await;
}

#[tokio::test]
async fn filters_combine_with_and() {
    with_app(HUB, |app| async move {
        // A parent category includes its children (sport → boxing, football).
        let sport = names(
            &app.get_json("/v1/services?category=sport&per_page=100")
                .await,
        );
        for n in [
            "Boxing Basics",
            "Far Away Football",
            "Gloves Not Gunz boxing",
            "Football Beyond Borders",
        ] {
            assert!(sport.contains(&n.to_string()), "{n} in {sport:?}");
        }
        assert!(!sport.contains(&"Evening Drop-in".to_string()));
        // Repeat or comma list: any of.
        let a = names(
            &app.get_json("/v1/services?category=boxing&category=youth-clubs")
                .await,
        );
        let b = names(
            &app.get_json("/v1/services?category=boxing,youth-clubs")
                .await,
        );
        assert_eq!(a, b);
        assert!(
            a.contains(&"Evening Drop-in".to_string()) && a.contains(&"Boxing Basics".to_string())
        );
        // Programme.
        let ylf = names(
            &app.get_json("/v1/services?programme=young-londoners-fund&per_page=100")
                .await,
        );
        assert!(ylf.contains(&"Boxing Basics".to_string()));
        assert!(!ylf.iter().any(|n| n.contains("Hospital")));
        // Borough by slug and by GSS code give the same answer.
        let by_slug = names(
            &app.get_json("/v1/services?borough=hackney&per_page=100")
                .await,
        );
        let by_code = names(
            &app.get_json("/v1/services?borough=E09000012&per_page=100")
                .await,
        );
        assert_eq!(by_slug, by_code);
        assert!(by_slug.contains(&"Hackney Homework Help".to_string()));
        assert!(
            by_slug.contains(&"Boxing Basics".to_string()),
            "a location in Hackney counts"
        );
        assert!(
            by_slug.contains(&"London Violence & Exploitation Support Service".to_string()),
            "London-wide counts"
        );
        assert!(!by_slug.contains(&"Far Away Football".to_string()));
        // Age: the range includes it.
        let age = names(&app.get_json("/v1/services?age=11&per_page=100").await);
        assert!(age.contains(&"Far Away Football".to_string()));
        assert!(
            !age.contains(&"Boxing Basics".to_string()),
            "12-18 excludes 11"
        );
        let age25 = names(&app.get_json("/v1/services?age=25&per_page=100").await);
        assert!(age25.contains(&"Evening Drop-in".to_string()));
        assert!(!age25.contains(&"Far Away Football".to_string()));
        // Free.
        let free = app.get_json("/v1/services?free=true&per_page=100").await;
        assert!(
            free["contents"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["free"] == true)
        );
        let paid = names(&app.get_json("/v1/services?free=false&per_page=100").await);
        assert!(paid.contains(&"Evening Drop-in".to_string()));
        // Everything at once.
        let all = names(
            &app.get_json("/v1/services?q=box&category=sport&borough=hackney&age=15&free=true")
                .await,
        );
        assert_eq!(all, ["Boxing Basics"]);
    })
    .await;
}

#[tokio::test]
async fn near_a_postcode_orders_by_distance_within_the_radius() {
    with_app(HUB, |app| async move {
        let page = app.get_json("/v1/services?near=e8%203pl&radius_km=3").await;
        let items = page["contents"].as_array().unwrap();
        let got = names(&page);
        assert_eq!(got[0], "Boxing Basics", "{got:?}");
        assert_eq!(items[0]["distance_km"], 0.0);
        assert_eq!(items[0]["nearest_location"]["postcode"], "E8 3PL");
        assert_eq!(items[0]["nearest_location"]["borough"], "hackney");
        assert_eq!(got[1], "Evening Drop-in");
        let d1 = items[1]["distance_km"].as_f64().unwrap();
        assert!(d1 > 0.5 && d1 < 3.0, "{d1}");
        assert!(
            !got.contains(&"Far Away Football".to_string()),
            "Bromley is far from E8"
        );
        // Services with no place of their own that serve Hackney come after, without a distance.
        let tail: Vec<&Value> = items
            .iter()
            .filter(|s| s["distance_km"].is_null())
            .collect();
        assert!(tail.iter().any(|s| s["name"] == "Hackney Homework Help"));
        let first_null = items
            .iter()
            .position(|s| s["distance_km"].is_null())
            .unwrap();
        assert!(
            items[first_null..]
                .iter()
                .all(|s| s["distance_km"].is_null())
        );
        // An outward code works too, and lat/lon.
        let out = names(&app.get_json("/v1/services?near=E8").await);
        assert!(out.contains(&"Boxing Basics".to_string()));
        let ll = names(
            &app.get_json("/v1/services?lat=51.5405&lon=-0.05735&radius_km=1")
                .await,
        );
        assert_eq!(ll[0], "Boxing Basics");
        assert!(
            ll.contains(&"Hackney Homework Help".to_string()),
            "lat/lon finds the borough too"
        );
        // A big radius reaches Bromley.
        let wide = names(
            &app.get_json("/v1/services?near=E8%203PL&radius_km=50")
                .await,
        );
        assert!(wide.contains(&"Far Away Football".to_string()));
        // Explicit name order with a place still gives distances.
        let by_name = app.get_json("/v1/services?near=E8%203PL&sort=name").await;
        assert!(by_name["contents"][0].get("distance_km").is_some());
    })
    .await;
}

async fn open_now(app: &TestApp) -> Vec<String> {
    names(
        &app.get_json("/v1/services?open_now=true&per_page=100")
            .await,
    )
}

#[tokio::test]
async fn open_now_follows_london_time_across_bst_and_midnight() {
    with_app(HUB, |app| async move {
        // Sunday 29 March 2026: BST starts at 01:00 UTC. 08:30 UTC is 09:30 in London.
        app.clock
            .set(Utc.with_ymd_and_hms(2026, 3, 29, 8, 30, 0).unwrap());
        assert_eq!(open_now(&app).await, ["Evening Drop-in"]);
        // A week earlier, 08:30 UTC is 08:30 GMT: not open yet.
        app.clock
            .set(Utc.with_ymd_and_hms(2026, 3, 22, 8, 30, 0).unwrap());
        assert!(open_now(&app).await.is_empty());
        // Friday 20:00–02:00 runs past midnight: Saturday 01:30 London time is open.
        app.clock
            .set(Utc.with_ymd_and_hms(2026, 1, 17, 1, 30, 0).unwrap());
        assert_eq!(open_now(&app).await, ["Boxing Basics"]);
        app.clock
            .set(Utc.with_ymd_and_hms(2026, 1, 17, 2, 0, 0).unwrap());
        assert!(open_now(&app).await.is_empty());
        // In summer, Saturday 01:30 BST is 00:30 UTC.
        app.clock
            .set(Utc.with_ymd_and_hms(2026, 7, 18, 0, 30, 0).unwrap());
        assert_eq!(open_now(&app).await, ["Boxing Basics"]);
        // open_now=false does not filter.
        let all = app.get_json("/v1/services?open_now=false").await;
        assert_eq!(all["total_items"], 14);
    })
    .await;
}

#[tokio::test]
async fn every_bad_parameter_is_a_422_naming_it() {
    with_app(HUB, |app| async move {
        let cases = [
            ("age=9", "age"),
            ("age=26", "age"),
            ("age=old", "age"),
            ("radius_km=500&near=E8", "radius_km"),
            ("radius_km=0&near=E8", "radius_km"),
            ("per_page=1000", "per_page"),
            ("per_page=0", "per_page"),
            ("page=0", "page"),
            ("page=-1", "page"),
            ("lat=51.5", "lon"),
            ("lon=-0.1", "lat"),
            ("lat=91&lon=0", "lat"),
            ("category=nope", "category"),
            ("category=boxing,nope", "category"),
            ("programme=nope", "programme"),
            ("borough=gotham", "borough"),
            ("free=maybe", "free"),
            ("open_now=yes", "open_now"),
            ("sort=random", "sort"),
            ("sort=distance", "sort"),
            ("radius_km=5", "radius_km"),
            ("near=not-a-place", "near"),
            ("near=EH1%202NG", "near"),
            ("near=E8&lat=51.5&lon=0", "near"),
        ];
        let before = active_services(&app).await;
        for (query, field) in cases {
            let problem = app.get_problem(&format!("/v1/services?{query}"), 422).await;
            let fields: Vec<&str> = problem["errors"]
                .as_array()
                .unwrap_or_else(|| panic!("{query}: {problem}"))
                .iter()
                .map(|e| e["field"].as_str().unwrap())
                .collect();
            assert!(
                fields.contains(&field),
                "{query}: expected {field} in {problem}"
            );
            assert!(
                problem["errors"][0]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
            );
        }
        assert_eq!(active_services(&app).await, before, "reads change nothing");
    })
    .await;
}

#[tokio::test]
async fn one_service_in_full() {
    with_app(HUB, |app| async move {
        let page = app.get_json("/v1/services?q=boxing%20basics").await;
        let id = page["contents"][0]["id"].as_str().unwrap().to_string();
        let s = app.get_json(&format!("/v1/services/{id}")).await;
        assert_eq!(s["name"], "Boxing Basics");
        assert_eq!(s["organisation"]["name"], "Test Youth Hub");
        assert_eq!(s["categories"][0]["slug"], "boxing");
        assert_eq!(s["programmes"][0]["slug"], "young-londoners-fund");
        assert_eq!(
            (s["min_age"].as_u64(), s["max_age"].as_u64()),
            (Some(12), Some(18))
        );
        assert_eq!(s["description"], "Gloves, pads and fitness for beginners.");
        let loc = &s["locations"][0];
        assert_eq!(loc["postcode"], "E8 3PL");
        assert_eq!(loc["borough"], "hackney");
        assert!(loc["lat"].as_f64().is_some() && loc["lon"].as_f64().is_some());
        assert_eq!(
            loc["opening_hours"][0],
            serde_json::json!({"day":"monday","opens":"10:00","closes":"14:00"})
        );
        for field in [
            "url",
            "email",
            "phone",
            "languages",
            "accessibility",
            "cost",
            "how_to_access",
            "updated_at",
        ] {
            assert!(s.get(field).is_some(), "detail has {field}");
        }
        // Unknown, malformed.
        app.get_problem("/v1/services/0190c0de-0000-7000-8000-000000000000", 404)
            .await;
        let p = app.get_problem("/v1/services/not-a-uuid", 422).await;
        assert_eq!(p["errors"][0]["field"], "id");
    })
    .await;
}

#[tokio::test]
async fn reference_lists() {
    with_app(&[], |app| async move {
        let boroughs = app.get_json("/v1/boroughs").await;
        let list = boroughs.as_array().unwrap();
        assert_eq!(list.len(), 33);
        let hackney = list.iter().find(|b| b["slug"] == "hackney").unwrap();
        assert_eq!(hackney["gss_code"], "E09000012");
        assert!(hackney["lat"].as_f64().is_some());
        assert_eq!(app.count("SELECT COUNT(*) FROM boroughs").await, 33);

        let cats = app.get_json("/v1/categories").await;
        let boxing = cats
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["slug"] == "boxing")
            .unwrap();
        assert_eq!(boxing["parent"], "sport");
        assert!(boxing["name"].is_string() && boxing["description"].is_string());

        let progs = app.get_json("/v1/programmes").await;
        let progs = progs.as_array().unwrap();
        for slug in [
            "young-londoners-fund",
            "london-gang-exit",
            "london-violence-exploitation-support-service",
            "london-needs-you-alive",
            "stepping-stones",
            "hospital-youth-work",
        ] {
            let p = progs
                .iter()
                .find(|p| p["slug"] == slug)
                .unwrap_or_else(|| panic!("{slug}"));
            for f in ["name", "summary", "description", "url"] {
                assert!(p.get(f).is_some(), "{slug} has {f}");
            }
        }
        let lge = progs
            .iter()
            .find(|p| p["slug"] == "london-gang-exit")
            .unwrap();
        assert_eq!(lge["active"], false);
        assert_eq!(
            lge["successor"],
            "london-violence-exploitation-support-service"
        );

        let orgs = app.get_json("/v1/organisations?per_page=100").await;
        let stored = app
            .count("SELECT COUNT(*) FROM organisations WHERE active = TRUE")
            .await;
        assert_eq!(orgs["total_items"], stored);
        let redthread = orgs["contents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["slug"] == "redthread")
            .unwrap();
        let id = redthread["id"].as_str().unwrap();
        let full = app.get_json(&format!("/v1/organisations/{id}")).await;
        assert_eq!(full["name"], "Redthread");
        assert_eq!(full["services"].as_array().unwrap().len(), 4);
        let by_slug = app.get_json("/v1/organisations/redthread").await;
        assert_eq!(by_slug["id"], full["id"]);
        app.get_problem("/v1/organisations/nobody", 404).await;
        app.get_problem("/v1/organisations?per_page=101", 422).await;
    })
    .await;
}

#[tokio::test]
async fn public_gets_send_etag_cache_control_cors_and_answer_304() {
    with_app(&[], |app| async move {
        let res = app
            .client
            .get(format!("{}/v1/services?q=youth", app.url))
            .header("Origin", "https://example.org")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let etag = res.headers()["etag"].to_str().unwrap().to_string();
        assert!(etag.starts_with('"'));
        assert!(
            res.headers()["cache-control"]
                .to_str()
                .unwrap()
                .starts_with("public, max-age=")
        );
        assert_eq!(res.headers()["access-control-allow-origin"], "*");
        let again = app
            .client
            .get(format!("{}/v1/services?q=youth", app.url))
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304);
        assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
        assert!(again.text().await.unwrap().is_empty());
        // A different answer has a different tag.
        let other = app.get("/v1/services?q=boxing").await;
        assert_ne!(other.headers()["etag"].to_str().unwrap(), etag);
        // A stale tag gets the full answer.
        let stale = app
            .client
            .get(format!("{}/v1/services?q=youth", app.url))
            .header("If-None-Match", "\"stale\"")
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), 200);
        for path in [
            "/v1/categories",
            "/v1/programmes",
            "/v1/boroughs",
            "/v1/organisations",
            "/v1/places/E8",
        ] {
            let r = app.get(path).await;
            assert!(r.headers().contains_key("etag"), "{path}");
        }
    })
    .await;
}
