//! The host's layout has one direction (DESIGN.md, "Layout"): within each crate of the
//! host (`openclone-vault`, `openclone-ingest`, `openclone-runtime`, `openclone`), the
//! modules under the crate root import each other without a circle; a circle is allowed
//! only among the submodules of one module. (Between crates Cargo already refuses a
//! circle.)
//!
//! Every `.rs` file is parsed with `syn` (the Rust parser proc-macros use), and every path
//! that leaves its own top module — `crate::x::…`, or `super::…` climbing to the root — is
//! an edge. `cargo-modules` (`dependencies --acyclic`) answers the same question from
//! rust-analyzer, but builds rust-analyzer's crates (over ten minutes cold on the CI's two
//! cores) for a check that needs only the parse.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Edges between the top modules of one crate: (from, to) → where (file: path).
type Edges = BTreeMap<(String, String), String>;

/// The top module a file belongs to and its module path (`["sandbox", "capability"]`).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts
}

struct Collector<'a> {
    module: Vec<String>,
    tops: &'a BTreeSet<String>,
    file: String,
    edges: &'a mut Edges,
}

impl Collector<'_> {
    /// Records the top module that path `segments` (starting at `crate`/`super`/`self`)
    /// reaches, if it is another one.
    fn reach(&mut self, segments: &[String]) {
        let mut at: Vec<String> = match segments.first().map(String::as_str) {
            Some("crate") => Vec::new(),
            Some("super") | Some("self") => self.module.clone(),
            _ => return,
        };
        let mut rest = segments;
        if rest.first().is_some_and(|s| s == "crate") {
            rest = &rest[1..];
        }
        while let Some(first) = rest.first() {
            match first.as_str() {
                "super" => {
                    at.pop();
                }
                "self" => {}
                _ => break,
            }
            rest = &rest[1..];
        }
        let top = match (at.first(), rest.first()) {
            (Some(t), _) => t.clone(),
            (None, Some(t)) if self.tops.contains(t) => t.clone(),
            _ => return,
        };
        let from = self.module[0].clone();
        if top != from {
            self.edges
                .entry((from, top))
                .or_insert_with(|| format!("{}: {}", self.file, segments.join("::")));
        }
    }
}

/// Every path a `use` tree names, as segment lists.
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_paths(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let mut v = prefix.clone();
            v.push(n.ident.to_string());
            out.push(v);
        }
        syn::UseTree::Rename(r) => {
            let mut v = prefix.clone();
            v.push(r.ident.to_string());
            out.push(v);
        }
        syn::UseTree::Glob(_) => out.push(prefix.clone()),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_paths(t, prefix, out);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let mut paths = Vec::new();
        use_paths(&u.tree, &mut Vec::new(), &mut paths);
        for p in paths {
            self.reach(&p);
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.reach(&segments);
        syn::visit::visit_path(self, p);
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The edges between the top modules of the crate whose sources are in `src`.
fn edges(src: &Path) -> (BTreeSet<String>, Edges) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let tops: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_path(src, f).first().cloned())
        .collect();
    let mut edges = Edges::new();
    for f in &files {
        let module = module_path(src, f);
        if module.is_empty() {
            continue;
        }
        let text = std::fs::read_to_string(f).expect("source file");
        let ast =
            syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: not parsed: {e}", f.display()));
        let mut c = Collector {
            module,
            tops: &tops,
            file: f.display().to_string(),
            edges: &mut edges,
        };
        c.visit_file(&ast);
    }
    (tops, edges)
}

/// A circle among `tops` along `edges`, as the modules in order, if there is one.
fn circle(tops: &BTreeSet<String>, edges: &Edges) -> Option<Vec<String>> {
    fn walk(
        at: &str,
        edges: &Edges,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == at) {
            let mut c = path[i..].to_vec();
            c.push(at.to_owned());
            return Some(c);
        }
        if done.contains(at) {
            return None;
        }
        path.push(at.to_owned());
        for (_, to) in edges.keys().filter(|(f, _)| f == at) {
            if let Some(c) = walk(to, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(at.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    tops.iter()
        .find_map(|t| walk(t, edges, &mut Vec::new(), &mut done))
}

#[test]
fn the_modules_of_each_host_crate_import_in_one_direction() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut report = String::new();
    for krate in [
        "vault", "ingest", "recall", "screen", "cluster", "runtime", "host",
    ] {
        let src = root.join(krate).join("src");
        let (tops, edges) = edges(&src);
        assert!(
            tops.len() > 2,
            "{krate}: modules found in {}",
            src.display()
        );
        if let Some(c) = circle(&tops, &edges) {
            let steps: Vec<String> = c
                .windows(2)
                .map(|w| {
                    let at = &edges[&(w[0].clone(), w[1].clone())];
                    format!("{} → {} ({at})", w[0], w[1])
                })
                .collect();
            report.push_str(&format!("{krate}: {}\n", steps.join(", ")));
        }
    }
    assert!(report.is_empty(), "module import circles:\n{report}");
}

#[test]
fn the_check_finds_a_circle_when_there_is_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path();
    std::fs::write(src.join("lib.rs"), "mod a; mod b; mod c;").expect("lib");
    std::fs::write(src.join("a.rs"), "use crate::b::B; pub struct A;").expect("a");
    std::fs::create_dir(src.join("b")).expect("b/");
    std::fs::write(src.join("b/mod.rs"), "mod inner; pub struct B;").expect("b");
    std::fs::write(src.join("b/inner.rs"), "fn f(_: super::super::c::C) {}").expect("inner");
    std::fs::write(src.join("c.rs"), "pub struct C; fn g(_: crate::a::A) {}").expect("c");
    let (tops, edges) = edges(src);
    assert_eq!(
        circle(&tops, &edges),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}
