//! Realistic synthetic services for tests and benchmarks (never shipped): any number,
//! seeded, spread over real London postcodes, written as ordinary content files so they
//! go through the same loader as the real directory.
use std::path::Path;

use anyhow::Context;
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};

use crate::content::files::{HoursFile, LocationFile, OrganisationFile, ServiceFile};
use crate::content::records::DAYS;
use crate::geo::Gazetteer;

/// (activity word, category slug)
const ACTIVITIES: &[(&str, &str)] = &[
    ("Boxing", "boxing"),
    ("Football", "football"),
    ("Basketball", "sport"),
    ("Dance", "arts-and-culture"),
    ("Drama", "arts-and-culture"),
    ("Music", "arts-and-culture"),
    ("Coding", "education"),
    ("Homework", "education"),
    ("Mentoring", "mentoring"),
    ("Youth Club", "youth-clubs"),
    ("Art", "arts-and-culture"),
    ("Cooking", "positive-activities"),
    ("Cycling", "sport"),
    ("Swimming", "sport"),
    ("Wellbeing", "mental-health"),
];
const KINDS: &[&str] = &[
    "Club",
    "Project",
    "Academy",
    "Sessions",
    "Hub",
    "Collective",
];
const PLACES: &[&str] = &[
    "Riverside",
    "Northside",
    "Eastway",
    "Parkview",
    "Hillcrest",
    "Canal",
    "Market",
    "Station",
    "Green",
    "Common",
    "Estate",
    "High Street",
];
const PROGRAMMES: &[&str] = &[
    "young-londoners-fund",
    "london-needs-you-alive",
    "stepping-stones",
];

/// `n` services in organisations of about twenty, deterministic for a seed.
pub fn generate(n: usize, seed: u64, gazetteer: &Gazetteer) -> Vec<OrganisationFile> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut orgs: Vec<OrganisationFile> = Vec::new();
    for i in 0..n {
        if i % 20 == 0 {
            let place = PLACES.choose(&mut rng).copied().unwrap_or("Riverside");
            let number = orgs.len() + 1;
            orgs.push(OrganisationFile {
                slug: format!("synthetic-org-{number:05}"),
                name: format!("{place} Youth Trust {number}"),
                description: "A synthetic organisation for tests and benchmarks.".into(),
                url: None,
                email: None,
                phone: None,
                services: Vec::new(),
            });
        }
        let (activity, category) = *ACTIVITIES.choose(&mut rng).unwrap_or(&ACTIVITIES[0]);
        let kind = KINDS.choose(&mut rng).copied().unwrap_or("Club");
        let min_age: i64 = rng.random_range(10..=18);
        let max_age: i64 = rng.random_range(min_age..=25);
        let locations = (0..rng.random_range(1..=2))
            .filter_map(|_| {
                let (postcode, _, _) =
                    gazetteer.postcode_at(rng.random_range(0..gazetteer.postcode_count()))?;
                let day = rng.random_range(0..7);
                let opens = rng.random_range(8..=18);
                let mut hours = vec![HoursFile {
                    day: DAYS[day].into(),
                    opens: format!("{opens:02}:00"),
                    closes: format!("{:02}:30", (opens + rng.random_range(1..=4)).min(23)),
                }];
                if rng.random_bool(0.5) {
                    hours.push(HoursFile {
                        day: DAYS[(day + 2) % 7].into(),
                        opens: "16:00".into(),
                        closes: "19:00".into(),
                    });
                }
                Some(LocationFile {
                    name: format!("{activity} venue"),
                    address: None,
                    postcode: Some(postcode),
                    lat: None,
                    lon: None,
                    opening_hours: hours,
                })
            })
            .collect();
        let Some(org) = orgs.last_mut() else {
            continue;
        };
        let place = PLACES.choose(&mut rng).copied().unwrap_or("Green");
        org.services.push(ServiceFile {
            slug: format!("synthetic-service-{i:06}"),
            name: format!("{place} {activity} {kind}"),
            summary: format!("{activity} for young people aged {min_age} to {max_age}."),
            description: format!(
                "Weekly {} sessions run by trained youth workers. Drop in, meet people and try something new.",
                activity.to_lowercase()
            ),
            programmes: if rng.random_bool(0.3) {
                vec![PROGRAMMES.choose(&mut rng).copied().unwrap_or(PROGRAMMES[0]).into()]
            } else {
                Vec::new()
            },
            categories: vec![category.into()],
            min_age: Some(min_age),
            max_age: Some(max_age),
            free: Some(rng.random_bool(0.7)),
            cost: None,
            accepts_self_referral: Some(rng.random_bool(0.4)),
            how_to_access: Some("Drop in during opening hours.".into()),
            boroughs: Vec::new(),
            languages: Vec::new(),
            accessibility: Vec::new(),
            url: None,
            email: None,
            phone: None,
            locations,
        });
    }
    orgs
}

/// Writes a complete content directory: the shipped reference data, programmes and
/// categories from `shipped`, and synthetic organisations.
pub fn write_content_dir(
    shipped: &Path,
    out: &Path,
    n: usize,
    seed: u64,
    gazetteer: &Gazetteer,
) -> anyhow::Result<()> {
    let orgs_dir = out.join("organisations");
    std::fs::create_dir_all(&orgs_dir)
        .with_context(|| format!("creating {}", orgs_dir.display()))?;
    std::fs::create_dir_all(out.join("data"))?;
    // Everything the service needs besides the directory: help lines, referral rules and
    // the organisations the rules route to.
    std::fs::create_dir_all(out.join("referrals"))?;
    for f in [
        "programmes.toml",
        "categories.toml",
        "help.toml",
        "referrals/needs.toml",
        "referrals/urgent_words.toml",
        "referrals/routing.toml",
        "organisations/signpost-duty-team.toml",
        "organisations/safer-london.toml",
    ] {
        std::fs::copy(shipped.join(f), out.join(f)).with_context(|| format!("copying {f}"))?;
    }
    for f in ["boroughs.csv", "postcode_districts.csv", "postcodes.csv.gz"] {
        std::fs::copy(shipped.join("data").join(f), out.join("data").join(f))
            .with_context(|| format!("copying data/{f}"))?;
    }
    for org in generate(n, seed, gazetteer) {
        let text = toml::to_string(&org).context("writing TOML")?;
        std::fs::write(orgs_dir.join(format!("{}.toml", org.slug)), text)?;
    }
    Ok(())
}
