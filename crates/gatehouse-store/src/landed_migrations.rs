//! A migration that has run on someone's database is never edited: sqlx refuses to start on a
//! database whose applied migration no longer matches its file (and the edit would never run
//! there anyway). Changes go in a new migration. The checksums of the landed ones are pinned.

/// (version, SHA-384 of the file as sqlx computes it) for SQLite, then PostgreSQL.
const LANDED: [(&str, &[(i64, &str)]); 2] = [
    (
        "sqlite",
        &[
        (1, "279b2b80abed994a984ac1d78bfffad092bb8a1a82bf0c56c9b4238c5d420cd0651e25ae5bd60828db8c4d1d020acb7e"),
        (2, "fd47452fdf71b1de0d454bf200c5ee4188e88b98c0bf873e9b6766b658908a25b72deb80cd118ecc6f548efa9ab05934"),
        (3, "84de77cce2f28863b0ec847b0344155320beb5c5428b932219ec21d2b645f79e93731fcc0b8930e5bde405390df11f12"),
        (4, "2192609625cb4a6dbdf1e35339b5ec68b4cfb205aee3857e109fd8567e3e9a27eacc0ea4f194ad97a3e773271501aebe"),
        (5, "43d93dcb095876b45f1cc7475b05699d2e526c5a2c748975afc5571527ed734dc78ff6e201499e8a1eb2e1efa2cd7317"),
        (6, "0383a6635bde5ca5ec9e657c92535e0f6a51cdfec55a4930e5054cbef97aee1bfc9c4ff3b244fea800de0755d83540d1"),
        (7, "40a943f4c6d5cd7b0d6ca113bba5ad16eda2e1a07b0b7b68c9532873288d376273d81e6d51ad3a7d0583c10cd6195ec5"),
        (8, "007c8fef60d0eb5b8d504be632218a4a6f5fafb5f855e76a9ae5867e26c93f93dea6c355692fda0cb6edac5a008208fd"),
        (9, "9f495d418893a14e940d0b5f9ad8497689b47e25778c200c4b4bb1de567841f869dcbfe89a387f016c2991681cd503a9"),
        (10, "a3c5647e4b5d2e43fd3a5d18973e02e064fd5b755faac0a905cf707caeef4efc5de945d1e1f8edfbf543916b1c3bf423"),
        (11, "f4dcc76a9d6d0107762e8cc723caf5c4e4c42279cef901b538d001ba2233712393279f5bd6cb020d3dc0e445424319f1"),
        (12, "d4d1e06517f5bbafbd3496c67ff8d158f486b414a4f5710be7e185cb403c72a56aa430f494aeb004d776ba5e1fce4d95"),
        ],
    ),
    (
        "postgres",
        &[
        (1, "75cfd3518123eb2907239eb0ed1585fe552f40c46c6e454dbe0378a27a49a8ef443888d073f14deee762c8a14a786211"),
        (2, "5e6ce44bf31ff0cee5d7522e625eadf50b8cbf14c1876e899bb109f4110e5a4a15d2cc3ce1b73bdb402f995f3df07529"),
        (3, "84de77cce2f28863b0ec847b0344155320beb5c5428b932219ec21d2b645f79e93731fcc0b8930e5bde405390df11f12"),
        (4, "ac23017312f7dae908c748c0be725b3c623f66215bd2059802e37541bb7bdc861b4d6b1b351ac80837f6ece46ba58f83"),
        (5, "c774bb742f4ed00c2d4c14de21ef0db5ae34febee413e1809fb5c135b9f5c23a71cd5eb48b634c0149ce4d74b77f8aa9"),
        (6, "7dddeb581999875c225e407efdc2c2e773bfdb05a804088bfb76b64b964cb92c9a923ec47baaf4e6b15d94cd0ae93096"),
        (7, "40a943f4c6d5cd7b0d6ca113bba5ad16eda2e1a07b0b7b68c9532873288d376273d81e6d51ad3a7d0583c10cd6195ec5"),
        (8, "007c8fef60d0eb5b8d504be632218a4a6f5fafb5f855e76a9ae5867e26c93f93dea6c355692fda0cb6edac5a008208fd"),
        (9, "9f495d418893a14e940d0b5f9ad8497689b47e25778c200c4b4bb1de567841f869dcbfe89a387f016c2991681cd503a9"),
        (10, "c87e77a8b883df6dcb502fb4159fef6f74af77f824d1ca49af41537e2e69c4c4d3ee7e2e9aa49277fec800b36c85da1a"),
        (11, "f4dcc76a9d6d0107762e8cc723caf5c4e4c42279cef901b538d001ba2233712393279f5bd6cb020d3dc0e445424319f1"),
        (12, "b2d16d932580fc291360e3ddc36ea2b4dd1b65e2d98090c0f9e2f3f1532d399cf459796c7940840a96929a8bde74f850"),
        ],
    ),
];

#[test]
fn landed_migrations_are_never_edited() {
    let sets = [
        ("sqlite", sqlx::migrate!("./migrations/sqlite")),
        ("postgres", sqlx::migrate!("./migrations/postgres")),
    ];
    for (backend, migrator) in sets {
        let pinned = LANDED
            .iter()
            .find(|(b, _)| *b == backend)
            .map_or(&[][..], |(_, p)| *p);
        assert!(
            pinned.len() >= 12,
            "{backend}: the landed migrations are pinned"
        );
        for m in migrator.iter() {
            let hex: String = m.checksum.iter().map(|b| format!("{b:02x}")).collect();
            if let Some((_, expected)) = pinned.iter().find(|(v, _)| *v == m.version) {
                assert_eq!(&hex, expected, "{backend} migration {} was edited after it landed: add a new migration instead", m.version);
            }
        }
    }
}
