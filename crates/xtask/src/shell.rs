//! After Trunk: the page's boot script moves out of index.html into a file of its own, so every
//! page can ship a CSP with `script-src 'self'` (no inline scripts, no hashes to keep in step).

use std::path::Path;

use anyhow::Context;

/// Moves the inline `<script type="module">` Trunk writes into index.html to
/// `boot-<hash>.js` (named by its content, like Trunk's own files) and loads it with
/// `<script type="module" src>`. Idempotent: an index without an inline script is left alone.
pub(crate) fn externalize_boot_script(dist: &Path) -> anyhow::Result<()> {
    let index_path = dist.join("index.html");
    let index = std::fs::read_to_string(&index_path)
        .with_context(|| format!("reading {}", index_path.display()))?;
    let Some((html, name, script)) = split_boot_script(&index)? else {
        return Ok(());
    };
    std::fs::write(dist.join(&name), script).with_context(|| format!("writing {name}"))?;
    std::fs::write(&index_path, html).with_context(|| format!("writing {}", index_path.display()))
}

/// index.html with its inline module script replaced by a reference to `boot-<hash>.js`, the
/// file's name, and its content; `None` when there is no inline script.
fn split_boot_script(index: &str) -> anyhow::Result<Option<(String, String, String)>> {
    const OPEN: &str = "<script type=\"module\">";
    let Some(start) = index.find(OPEN) else {
        return Ok(None);
    };
    let body_start = start + OPEN.len();
    let len = index[body_start..]
        .find("</script>")
        .context("index.html: an inline <script type=\"module\"> is not closed")?;
    let script = index[body_start..body_start + len].trim().to_owned() + "\n";
    anyhow::ensure!(
        !index[body_start + len..].contains(OPEN),
        "index.html holds more than one inline module script"
    );
    let name = format!("boot-{:016x}.js", fnv1a(script.as_bytes()));
    let html = format!(
        "{}<script type=\"module\" src=\"/{name}\"></script>{}",
        &index[..start],
        &index[body_start + len + "</script>".len()..]
    );
    Ok(Some((html, name, script)))
}

/// Writes `dist/embed.js`, the `<lookout-panel>` loader, from `www/embed.js` with this build's
/// hashed file names (the wasm-bindgen glue, the wasm and the stylesheet) filled in.
pub(crate) fn write_embed_loader(root: &Path) -> anyhow::Result<()> {
    let dist = root.join("dist");
    let template =
        std::fs::read_to_string(root.join("www/embed.js")).context("reading www/embed.js")?;
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dist).with_context(|| format!("reading {}", dist.display()))? {
        if let Some(name) = entry?.file_name().to_str() {
            names.push(name.to_owned());
        }
    }
    std::fs::write(dist.join("embed.js"), fill_embed_loader(&template, &names)?)
        .context("writing dist/embed.js")
}

/// The loader with `__LOOKOUT_GLUE__`, `__LOOKOUT_WASM__` and `__LOOKOUT_CSS__` replaced by the
/// files of `names` (one build's dist/) that they stand for.
fn fill_embed_loader(template: &str, names: &[String]) -> anyhow::Result<String> {
    let one = |what: &str, ok: &dyn Fn(&str) -> bool| -> anyhow::Result<String> {
        let found: Vec<&String> = names.iter().filter(|n| ok(n)).collect();
        match found.as_slice() {
            [n] => Ok(format!("./{n}")),
            _ => anyhow::bail!("dist/ should hold exactly one {what}, it holds {found:?}"),
        }
    };
    let glue = one("wasm-bindgen glue (lookout-ui-*.js)", &|n| {
        n.starts_with("lookout-ui-") && n.ends_with(".js")
    })?;
    let wasm = one("wasm (lookout-ui-*_bg.wasm)", &|n| {
        n.starts_with("lookout-ui-") && n.ends_with("_bg.wasm")
    })?;
    let css = one("stylesheet (style-*.css)", &|n| {
        n.starts_with("style-") && n.ends_with(".css")
    })?;
    for mark in ["__LOOKOUT_GLUE__", "__LOOKOUT_WASM__", "__LOOKOUT_CSS__"] {
        anyhow::ensure!(
            template.contains(mark),
            "www/embed.js lost its {mark} placeholder"
        );
    }
    Ok(template
        .replace("__LOOKOUT_GLUE__", &glue)
        .replace("__LOOKOUT_WASM__", &wasm)
        .replace("__LOOKOUT_CSS__", &css))
}

/// Writes `<file>.gz` ([`gzip`]) beside each wasm, js and css file, which the relay serves to
/// browsers that accept gzip (`ServeDir::precompressed_gzip`): compressed once at build time,
/// never per request. Trunk writes a fresh `dist/` each build, so no stale `.gz` survives.
pub(crate) fn precompress(dist: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dist).with_context(|| format!("reading {}", dist.display()))? {
        let path = entry?.path();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if !matches!(ext, "wasm" | "js" | "css") {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        let gz = gzip(&bytes)?;
        if gz.len() < bytes.len() {
            let mut name = path.clone().into_os_string();
            name.push(".gz");
            std::fs::write(&name, gz).with_context(|| format!("writing {name:?}"))?;
        }
    }
    Ok(())
}

/// `bytes` as the relay serves them to browsers that accept gzip: a gzip stream written by
/// Zopfli, which searches harder than zlib's level 9 for the same format (any gzip reader
/// inflates it): the page's wasm is ~4% smaller than with `gzip -9` (`bench size` prints both),
/// for a few seconds once per build.
pub(crate) fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() / 2);
    let options = zopfli::Options {
        iteration_count: std::num::NonZeroU64::new(5).unwrap_or(std::num::NonZeroU64::MIN),
        ..zopfli::Options::default()
    };
    zopfli::compress(options, zopfli::Format::Gzip, bytes, &mut out)?;
    Ok(out)
}

/// `bytes` at zlib's level 9, as a static server compressing on the fly would send them: the
/// baseline `bench size` prints beside [`gzip`].
pub(crate) fn gzip9(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes)?;
    Ok(enc.finish()?)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_gzip_inflates_to_the_same_bytes_and_is_no_larger_than_level_9() {
        use std::io::Read as _;
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("sample{{job=\"j{}\"}} {}\n", i % 17, i * 7 % 1000).into_bytes())
            .collect();
        let gz = gzip(&text).unwrap();
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, text);
        let level9 = gzip9(&text).unwrap();
        assert!(gz.len() <= level9.len(), "{} > {}", gz.len(), level9.len());
    }

    const TRUNK: &str = "<head>\n<link rel=\"stylesheet\" href=\"/style-1.css\"/>\n<script type=\"module\">\nimport init, * as bindings from '/lookout-ui-ab.js';\nconst wasm = await init({ module_or_path: '/lookout-ui-ab_bg.wasm' });\n</script>\n  <link rel=\"modulepreload\" href=\"/lookout-ui-ab.js\"></head>";

    #[test]
    fn the_inline_boot_script_becomes_a_file_named_by_its_content() {
        let (html, name, script) = split_boot_script(TRUNK).unwrap().unwrap();
        assert!(name.starts_with("boot-") && name.ends_with(".js"), "{name}");
        assert!(script.starts_with("import init, * as bindings from '/lookout-ui-ab.js';"));
        assert!(script.contains("module_or_path: '/lookout-ui-ab_bg.wasm'"));
        assert!(!html.contains("import init"), "{html}");
        assert!(html.contains(&format!(
            "<script type=\"module\" src=\"/{name}\"></script>"
        )));
        assert!(html.contains("modulepreload") && html.contains("style-1.css"));
        // Run again on its own output: nothing left to move.
        assert!(split_boot_script(&html).unwrap().is_none());
        // Another build names other files: another boot file.
        let other = TRUNK.replace("-ab", "-cd");
        assert_ne!(split_boot_script(&other).unwrap().unwrap().1, name);
    }

    #[test]
    fn the_embed_loader_names_this_builds_files() {
        let names: Vec<String> = [
            "index.html",
            "lookout-ui-ab12.js",
            "lookout-ui-ab12_bg.wasm",
            "style-cd34.css",
            "boot-1.js",
            "sw.js",
        ]
        .map(String::from)
        .to_vec();
        let t = "G=\"__LOOKOUT_GLUE__\" W=\"__LOOKOUT_WASM__\" C=\"__LOOKOUT_CSS__\"";
        assert_eq!(
            fill_embed_loader(t, &names).unwrap(),
            "G=\"./lookout-ui-ab12.js\" W=\"./lookout-ui-ab12_bg.wasm\" C=\"./style-cd34.css\""
        );
        // Two builds' files side by side: refuse to guess.
        let mut two = names.clone();
        two.push("lookout-ui-ef56.js".into());
        assert!(fill_embed_loader(t, &two).is_err());
        assert!(fill_embed_loader("no marks", &names).is_err());
    }

    #[test]
    fn an_unclosed_script_is_an_error_not_a_guess() {
        let e = split_boot_script("<script type=\"module\">import x from '/a.js';").unwrap_err();
        assert!(e.to_string().contains("not closed"), "{e}");
    }
}
