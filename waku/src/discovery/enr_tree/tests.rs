//! EIP-1459's example tree, trees built here, and what is refused.

use super::*;

/// The EIP's example tree is signed by the key the EIP gives in hex,
/// `0x049f8822…`, whose base32 form is this one (go-ethereum's client
/// test reads the tree through this link).
const LINK: &str =
    "enrtree://AKPYQIUQIL7PSIACI32J7FGZW56E5FKHEFCCOFHILBIMW3M6LWXS2@nodes.example.org";

/// The link the EIP shows as its example URL, and the tree's own link
/// entry: a different key (`0x033a5141…`), which did not sign the
/// example root.
const OTHER_LINK: &str =
    "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@nodes.example.org";

/// The example tree of EIP-1459 (and ethereum/devp2p's dnsdisc.md),
/// name by name.
fn eip_zone() -> BTreeMap<String, String> {
    [
        ("nodes.example.org", "enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE seq=1 sig=o908WmNp7LibOfPsr4btQwatZJ5URBr2ZAuxvK4UWHlsB9sUOTJQaGAlLPVAhM__XJesCHxLISo94z5Z2a463gA"),
        ("C7HRFPF3BLGF3YR4DY5KX3SMBE.nodes.example.org", "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@morenodes.example.org"),
        ("JWXYDBPXYWG6FX3GMDIBFA6CJ4.nodes.example.org", "enrtree-branch:2XS2367YHAXJFGLZHVAWLQD4ZY,H4FHT4B454P6UXFD7JCYQ5PWDY,MHTDO6TMUBRIA2XWG5LUDACK24"),
        ("2XS2367YHAXJFGLZHVAWLQD4ZY.nodes.example.org", "enr:-HW4QOFzoVLaFJnNhbgMoDXPnOvcdVuj7pDpqRvh6BRDO68aVi5ZcjB3vzQRZH2IcLBGHzo8uUN3snqmgTiE56CH3AMBgmlkgnY0iXNlY3AyNTZrMaECC2_24YYkYHEgdzxlSNKQEnHhuNAbNlMlWJxrJxbAFvA"),
        ("H4FHT4B454P6UXFD7JCYQ5PWDY.nodes.example.org", "enr:-HW4QAggRauloj2SDLtIHN1XBkvhFZ1vtf1raYQp9TBW2RD5EEawDzbtSmlXUfnaHcvwOizhVYLtr7e6vw7NAf6mTuoCgmlkgnY0iXNlY3AyNTZrMaECjrXI8TLNXU0f8cthpAMxEshUyQlK-AM0PW2wfrnacNI"),
        ("MHTDO6TMUBRIA2XWG5LUDACK24.nodes.example.org", "enr:-HW4QLAYqmrwllBEnzWWs7I5Ev2IAs7x_dZlbYdRdMUx5EyKHDXp7AV5CkuPGUPdvbv1_Ms1CPfhcGCvSElSosZmyoqAgmlkgnY0iXNlY3AyNTZrMaECriawHKWdDRk2xeZkrOXBQ0dfMFLHY4eENZwdufn1S1o"),
    ]
    .into_iter()
    .map(|(n, t)| (n.to_owned(), t.to_owned()))
    .collect()
}

/// Runs a walk against a zone in memory; names not in it are lookups
/// that failed. Returns the records or the error, and every step.
fn walk(
    link: &str,
    limits: Limits,
    zone: &BTreeMap<String, String>,
) -> (Result<Vec<WakuEnr>, TreeError>, Vec<Step>) {
    let mut walk = Walk::new(Link::parse(link).unwrap(), limits);
    let mut steps = Vec::new();
    while let Some(query) = walk.poll_query() {
        let Some(text) = zone.get(query.name()) else {
            assert!(!query.is_top_root(), "no root at {}", query.name());
            continue;
        };
        match walk.handle_txt(query, std::slice::from_ref(text)) {
            Ok(step) => steps.push(step),
            Err(e) => return (Err(e), steps),
        }
    }
    (Ok(walk.into_enrs()), steps)
}

fn random_key() -> SigningKey {
    loop {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).unwrap();
        if let Ok(key) = SigningKey::from_slice(&secret) {
            return key;
        }
    }
}

fn record(port: u16) -> Record {
    enr::Enr::builder()
        .ip4("10.0.0.1".parse().unwrap())
        .tcp4(port)
        .add_value("waku2", &bytes::Bytes::from(vec![1u8]))
        .build(&random_key())
        .unwrap()
}

#[test]
fn the_eip_example_link_names_its_key_and_domain() {
    let link = Link::parse(LINK).unwrap();
    assert_eq!(link.domain, "nodes.example.org");
    let uncompressed = link.public_key.to_sec1_point(false);
    assert_eq!(
        hex::encode(uncompressed.as_bytes()),
        "049f88229042fef9200246f49f94d9b77c4e954721442714e85850cb6d9e5daf2d880ea0e53cb3ac1a75f9923c2726a4f941f7d326781baa6380754a360de5c2b6"
    );
    assert_eq!(link.to_string(), LINK);
    let other = Link::parse(OTHER_LINK).unwrap();
    assert_ne!(other.public_key, link.public_key);
    assert_eq!(other.to_string(), OTHER_LINK);
    let lower = OTHER_LINK.replace("AM5F", "am5f").replace(".org", ".org.");
    assert_eq!(Link::parse(&lower).unwrap(), other);
    for bad in [
        "enrtree:/AM5F@nodes.example.org",
        "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2",
        "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT@nodes.example.org",
        "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@",
    ] {
        assert!(
            matches!(Link::parse(bad), Err(TreeError::BadLink(_))),
            "{bad}"
        );
    }
}

#[test]
fn the_eip_example_root_verifies_and_every_entry_hashes_to_its_name() {
    let zone = eip_zone();
    let link = Link::parse(LINK).unwrap();
    let root = Root::parse(&zone["nodes.example.org"]).unwrap();
    assert_eq!(root.enr_root, "JWXYDBPXYWG6FX3GMDIBFA6CJ4");
    assert_eq!(root.link_root, "C7HRFPF3BLGF3YR4DY5KX3SMBE");
    assert_eq!(root.seq, 1);
    root.verify(&link.public_key).unwrap();
    for (name, text) in zone.iter().filter(|(n, _)| *n != "nodes.example.org") {
        let label = name.split('.').next().unwrap();
        assert_eq!(label_of(text), label);
        check_hash(&label.to_ascii_lowercase(), text, name).unwrap();
    }
}

#[test]
fn walking_the_eip_example_finds_its_three_records() {
    let (enrs, steps) = walk(LINK, Limits::default(), &eip_zone());
    let enrs = enrs.unwrap();
    assert_eq!(enrs.len(), 3);
    assert_eq!(steps.iter().filter(|s| **s == Step::Found).count(), 3);
    let zone = eip_zone();
    for enr in &enrs {
        assert!(zone.values().any(|t| *t == enr.record.to_base64()));
    }
}

/// The names a walk of the EIP example asks for, and how many records
/// it finds.
fn names_asked(limits: Limits) -> (Vec<String>, usize) {
    let mut walk = Walk::new(Link::parse(LINK).unwrap(), limits);
    let zone = eip_zone();
    let mut asked = Vec::new();
    while let Some(query) = walk.poll_query() {
        asked.push(query.name().to_owned());
        if let Some(text) = zone.get(query.name()) {
            walk.handle_txt(query, std::slice::from_ref(text)).unwrap();
        } else {
            assert!(!query.is_top_root());
        }
    }
    (asked, walk.into_enrs().len())
}

#[test]
fn links_are_followed_one_level_only_when_asked() {
    let linked = "morenodes.example.org".to_owned();
    let (asked, found) = names_asked(Limits::default());
    assert!(!asked.contains(&linked), "{asked:?}");
    assert!(
        !asked
            .iter()
            .any(|n| n.starts_with("C7HRFPF3BLGF3YR4DY5KX3SMBE"))
    );
    assert_eq!(found, 3);
    let follow = Limits {
        follow_links: true,
        ..Limits::default()
    };
    let (asked, found) = names_asked(follow);
    assert!(asked.contains(&linked), "{asked:?}");
    assert_eq!(found, 3);
}

#[test]
fn a_flipped_signature_byte_is_refused() {
    let mut zone = eip_zone();
    let root = zone.get_mut("nodes.example.org").unwrap();
    // `o908…` → `p908…`: the first byte of r changes.
    *root = root.replacen("sig=o", "sig=p", 1);
    let (result, _) = walk(LINK, Limits::default(), &zone);
    assert_eq!(result.unwrap_err(), TreeError::BadSignature);
}

#[test]
fn a_root_signed_by_another_key_is_refused() {
    let (result, _) = walk(OTHER_LINK, Limits::default(), &eip_zone());
    assert_eq!(result.unwrap_err(), TreeError::BadSignature);
    let random = Link::new(*random_key().verifying_key(), "nodes.example.org");
    let (result, _) = walk(&random.to_string(), Limits::default(), &eip_zone());
    assert_eq!(result.unwrap_err(), TreeError::BadSignature);
}

#[test]
fn an_entry_that_does_not_hash_to_its_name_is_refused() {
    let mut zone = eip_zone();
    let leaf = zone
        .get_mut("H4FHT4B454P6UXFD7JCYQ5PWDY.nodes.example.org")
        .unwrap();
    // Another valid record in its place: still not what was signed.
    *leaf = record(1).to_base64();
    let (result, _) = walk(LINK, Limits::default(), &zone);
    assert_eq!(
        result.unwrap_err(),
        TreeError::HashMismatch {
            name: "H4FHT4B454P6UXFD7JCYQ5PWDY.nodes.example.org".into()
        }
    );
}

#[test]
fn malformed_roots_say_what_is_wrong() {
    for bad in [
        "enrtree-root:v2 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE seq=1 sig=AA",
        "enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 seq=1 sig=AA",
        "enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE seq=x sig=AA",
        "enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE seq=1 sig=AA",
        "enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE seq=1",
    ] {
        assert!(
            matches!(Root::parse(bad), Err(TreeError::BadRoot(_))),
            "{bad}"
        );
    }
    assert!(matches!(
        Entry::parse("v=spf1 -all"),
        Err(TreeError::UnknownEntry(_))
    ));
    assert!(matches!(
        Entry::parse("enrtree-branch:NOT-BASE32"),
        Err(TreeError::BadBranch(_))
    ));
    assert!(matches!(
        Entry::parse("enr:-HW4QOFz"),
        Err(TreeError::Enr(EnrError::Invalid(_)))
    ));
}

#[test]
fn a_built_tree_walks_back_to_its_records_through_nested_branches() {
    let key = random_key();
    let records: Vec<Record> = (1..=30).map(record).collect();
    let zone = TreeBuilder::new(7)
        .enrs(&records)
        .max_children(3)
        .build(&key, "nodes.test.");
    for (name, text) in &zone {
        assert!(text.len() <= MAX_TXT_LEN, "{name}: {} bytes", text.len());
        if let Some(label) = name.strip_suffix(".nodes.test") {
            check_hash(label, text, name).unwrap();
        }
    }
    let link = Link::new(*key.verifying_key(), "nodes.test");
    let (enrs, steps) = walk(&link.to_string(), Limits::default(), &zone);
    let mut found: Vec<u16> = enrs
        .unwrap()
        .iter()
        .filter_map(|e| e.record.tcp4())
        .collect();
    found.sort_unstable();
    assert_eq!(found, (1..=30).collect::<Vec<_>>());
    // 30 leaves, 3 per branch: 10, 4, 2, then the top: four levels.
    let branches = steps
        .iter()
        .filter(|s| matches!(s, Step::Queued(_)))
        .count();
    assert_eq!(branches, 1 + 10 + 4 + 2 + 1);

    let too_shallow = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    let (result, _) = walk(&link.to_string(), too_shallow, &zone);
    assert_eq!(result.unwrap_err(), TreeError::TooDeep { limit: 3 });
    let too_few = Limits {
        max_entries: 20,
        ..Limits::default()
    };
    let (result, _) = walk(&link.to_string(), too_few, &zone);
    assert_eq!(result.unwrap_err(), TreeError::TooManyEntries { limit: 20 });
}

#[test]
fn full_branches_fit_a_txt_record_and_small_trees_point_at_a_leaf() {
    assert_eq!(MAX_BRANCH_CHILDREN, 13);
    let key = random_key();
    let records: Vec<Record> = (1..=14).map(record).collect();
    let zone = sign_tree(&key, 1, &records, &[], "n.test");
    assert!(zone.values().all(|t| t.len() <= MAX_TXT_LEN));
    assert!(
        zone.values()
            .any(|t| t.starts_with(BRANCH_PREFIX) && t.split(',').count() == 13)
    );
    let one = sign_tree(&key, 1, &records[..1], &[], "n.test");
    let root = Root::parse(&one["n.test"]).unwrap();
    assert_eq!(
        one[&format!("{}.n.test", root.enr_root)],
        records[0].to_base64()
    );
}

#[test]
fn a_bad_leaf_is_skipped_and_the_rest_found() {
    let key = random_key();
    let zone = TreeBuilder::new(1)
        .enrs([&record(1), &record(3)])
        .enr_text("enr:-HW4QOFzoVLa")
        .links([&Link::parse(LINK).unwrap()])
        .build(&key, "n.test");
    let link = Link::new(*key.verifying_key(), "n.test").to_string();
    let (enrs, steps) = walk(&link, Limits::default(), &zone);
    assert_eq!(enrs.unwrap().len(), 2);
    assert!(steps.iter().any(|s| matches!(
        s,
        Step::Skipped {
            why: TreeError::Enr(_),
            ..
        }
    )));
}

#[test]
fn a_linked_tree_adds_its_records_and_a_broken_one_is_skipped() {
    let (key_a, key_b, key_c) = (random_key(), random_key(), random_key());
    let link_b = Link::new(*key_b.verifying_key(), "b.test");
    // c.test's root is signed by another key than its link names.
    let link_c = Link::new(*key_c.verifying_key(), "c.test");
    let mut zone = sign_tree(&key_a, 1, &[record(1)], &[link_b, link_c], "a.test");
    zone.extend(sign_tree(&key_b, 1, &[record(2), record(3)], &[], "b.test"));
    zone.extend(sign_tree(&key_a, 1, &[record(4)], &[], "c.test"));
    let link_a = Link::new(*key_a.verifying_key(), "a.test").to_string();
    let follow = Limits {
        follow_links: true,
        ..Limits::default()
    };
    let (enrs, steps) = walk(&link_a, follow, &zone);
    let mut ports: Vec<u16> = enrs
        .unwrap()
        .iter()
        .filter_map(|e| e.record.tcp4())
        .collect();
    ports.sort_unstable();
    assert_eq!(ports, [1, 2, 3]);
    assert!(steps.contains(&Step::Skipped {
        name: "c.test".into(),
        why: TreeError::BadSignature
    }));
    let (enrs, _) = walk(&link_a, Limits::default(), &zone);
    assert_eq!(enrs.unwrap().len(), 1, "links are not followed by default");
}

#[test]
fn a_record_listed_twice_is_kept_once_at_its_newest() {
    let node = random_key();
    let old = enr::Enr::builder()
        .ip4("10.0.0.1".parse().unwrap())
        .tcp4(1)
        .build(&node)
        .unwrap();
    let mut new = old.clone();
    new.set_tcp4(2, &node).unwrap();
    let key = random_key();
    let zone = TreeBuilder::new(1).enrs([&old, &new]).build(&key, "n.test");
    let link = Link::new(*key.verifying_key(), "n.test").to_string();
    let (enrs, steps) = walk(&link, Limits::default(), &zone);
    let enrs = enrs.unwrap();
    assert_eq!(enrs.len(), 1);
    assert_eq!(enrs[0].record.tcp4(), Some(2));
    assert!(steps.contains(&Step::Duplicate));
}
