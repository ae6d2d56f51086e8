//! Build script. It does something only for Windows targets: it gives `onshi-desk.exe` its
//! version information (the "Details" tab of the file's properties, which a clinic's IT person
//! and the installer's "Apps" entry read), taken from Cargo.toml so the two never disagree.
//!
//! The resource is compiled with mingw's `windres` (Debian's `gcc-mingw-w64-x86-64`, which the
//! cross-build needs anyway; `WINDRES` overrides the program). Without it, or for an MSVC target,
//! the exe is built without version information and a warning says so: a developer's quick
//! cross-check must not fail for a missing resource compiler. `scripts/build-windows` installs it,
//! so a release always has the version.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=WINDRES");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    if let Err(why) = version_resource() {
        println!("cargo:warning=onshi-desk.exe built without version information: {why}");
    }
}

fn version_resource() -> Result<(), String> {
    if env::var("CARGO_CFG_TARGET_ENV").as_deref() != Ok("gnu") {
        return Err("only the -gnu target (mingw windres) is supported".into());
    }
    let out_dir = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);
    let version = env::var("CARGO_PKG_VERSION").map_err(|e| e.to_string())?;
    let numbers = numeric_version(&version);
    let rc = format!(
        r#"#include <winver.h>
1 VERSIONINFO
FILEVERSION {numbers}
PRODUCTVERSION {numbers}
FILEFLAGSMASK 0x3fL
FILEFLAGS 0x0L
FILEOS VOS_NT_WINDOWS32
FILETYPE VFT_APP
FILESUBTYPE 0x0L
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904b0"
    BEGIN
      VALUE "CompanyName", "onshi-desk contributors"
      VALUE "FileDescription", "onshi-desk: online insurance eligibility confirmation at the reception desk"
      VALUE "FileVersion", "{version}"
      VALUE "InternalName", "onshi-desk"
      VALUE "LegalCopyright", "MIT OR Apache-2.0"
      VALUE "OriginalFilename", "onshi-desk.exe"
      VALUE "ProductName", "onshi-desk"
      VALUE "ProductVersion", "{version}"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
"#
    );
    let rc_path = out_dir.join("onshi-desk.rc");
    let obj_path = out_dir.join("onshi-desk-version.o");
    std::fs::write(&rc_path, rc).map_err(|e| format!("writing {}: {e}", rc_path.display()))?;
    let windres = env::var("WINDRES").unwrap_or_else(|_| {
        let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_else(|_| "x86_64".into());
        format!("{arch}-w64-mingw32-windres")
    });
    let status = Command::new(&windres)
        .arg("--input-format=rc")
        .arg("--output-format=coff")
        .arg("-i")
        .arg(&rc_path)
        .arg("-o")
        .arg(&obj_path)
        .status()
        .map_err(|e| format!("{windres} not found ({e}); install gcc-mingw-w64-x86-64"))?;
    if !status.success() {
        return Err(format!("{windres} failed ({status})"));
    }
    // Only the desk's own exe carries it (the object holds nothing but the resource).
    println!("cargo:rustc-link-arg-bin=onshi-desk={}", obj_path.display());
    Ok(())
}

/// "0.1.0" or "1.2.3-rc.1" → "0,1,0,0" / "1,2,3,0": the four 16-bit numbers Windows shows.
fn numeric_version(version: &str) -> String {
    let core = version.split(['-', '+']).next().unwrap_or(version);
    let mut parts: Vec<u16> = core
        .split('.')
        .map(|p| p.parse().unwrap_or(0))
        .take(4)
        .collect();
    parts.resize(4, 0);
    parts
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
