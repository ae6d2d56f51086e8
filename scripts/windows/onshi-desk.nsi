; The Windows installer of onshi-desk, built on Linux by scripts/build-windows with Debian's NSIS
; (makensis). Per-user: no administrator rights, installs under %LOCALAPPDATA%\Programs like
; other per-user applications, registers itself in "Apps" for the current user only.
;
; Defined by scripts/build-windows (makensis -D…):
;   VERSION   the crate version (Cargo.toml)
;   STAGE     the folder holding onshi-desk.exe and the files to install
;   OUTFILE   the installer to write
;
; Silent use (what an IT person's deployment and the CI do):
;   onshi-desk-setup.exe /S [/D=C:\path]     install
;   uninstall.exe /S                         uninstall, keeping configuration and journal
;   uninstall.exe /S /PURGE                  uninstall and delete configuration and journal too
; Interactive uninstall asks before deleting the configuration and the journal (default: keep).

; A 64-bit installer for a 64-bit program (and what Wine 8's 64-bit-only loader in the tests runs).
Target amd64-unicode
ManifestDPIAware true
RequestExecutionLevel user
SetCompressor /SOLID lzma

!ifndef VERSION
  !error "VERSION not defined (run scripts/build-windows)"
!endif
!ifndef STAGE
  !error "STAGE not defined (run scripts/build-windows)"
!endif
!ifndef OUTFILE
  !define OUTFILE "onshi-desk-${VERSION}-setup.exe"
!endif

!define APP "onshi-desk"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APP}"

Name "onshi-desk ${VERSION}"
Caption "onshi-desk ${VERSION} セットアップ"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\${APP}"
InstallDirRegKey HKCU "Software\${APP}" "InstallDir"
ShowInstDetails show
ShowUninstDetails show

!include "MUI2.nsh"
!include "FileFunc.nsh"
!insertmacro MUI_PAGE_LICENSE "${STAGE}\LICENSE.txt"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "Japanese"

VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=${LANG_JAPANESE} "ProductName" "onshi-desk"
VIAddVersionKey /LANG=${LANG_JAPANESE} "FileDescription" "onshi-desk installer"
VIAddVersionKey /LANG=${LANG_JAPANESE} "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=${LANG_JAPANESE} "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=${LANG_JAPANESE} "LegalCopyright" "MIT OR Apache-2.0"

Section "onshi-desk" SecMain
  SectionIn RO
  ; Start-menu entries and Apps for this user only.
  SetShellVarContext current
  SetOutPath "$INSTDIR"
  File "${STAGE}\onshi-desk.exe"
  File "${STAGE}\README.txt"
  File "${STAGE}\LICENSE.txt"
  SetOutPath "$INSTDIR\licenses"
  File /r "${STAGE}\licenses\*.*"
  SetOutPath "$INSTDIR\assets"
  File /r "${STAGE}\assets\*.*"
  SetOutPath "$INSTDIR"

  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateDirectory "$SMPROGRAMS\onshi-desk"
  CreateShortcut "$SMPROGRAMS\onshi-desk\onshi-desk 受付.lnk" "$INSTDIR\onshi-desk.exe" "" "$INSTDIR\onshi-desk.exe" 0
  CreateShortcut "$SMPROGRAMS\onshi-desk\onshi-desk デモ.lnk" "$INSTDIR\onshi-desk.exe" "--demo" "$INSTDIR\onshi-desk.exe" 0
  CreateShortcut "$SMPROGRAMS\onshi-desk\アンインストール.lnk" "$INSTDIR\uninstall.exe"

  WriteRegStr HKCU "Software\${APP}" "InstallDir" "$INSTDIR"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayName" "onshi-desk"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINST_KEY}" "Publisher" "onshi-desk contributors"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\onshi-desk.exe"
  WriteRegStr HKCU "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD HKCU "${UNINST_KEY}" "EstimatedSize" "$0"
SectionEnd

Var Purge

Function un.onInit
  StrCpy $Purge "0"
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/PURGE" $R1
  IfErrors +2
  StrCpy $Purge "1"
FunctionEnd

Section "Uninstall"
  SetShellVarContext current
  ; Interactive: ask. Silent: keep unless /PURGE was given. The journal holds the facility's
  ; records of checks (and claims based on them): never deleted without being asked.
  IfSilent purge_decided
  MessageBox MB_YESNO|MB_ICONQUESTION|MB_DEFBUTTON2 \
    "設定（$APPDATA\${APP}）と受付記録（$LOCALAPPDATA\${APP}）も削除しますか？$\r$\n通常は「いいえ」を選んでください。記録は残ります。" \
    IDNO purge_decided
  StrCpy $Purge "1"
  purge_decided:

  Delete "$INSTDIR\onshi-desk.exe"
  Delete "$INSTDIR\README.txt"
  Delete "$INSTDIR\LICENSE.txt"
  RMDir /r "$INSTDIR\licenses"
  RMDir /r "$INSTDIR\assets"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"

  Delete "$SMPROGRAMS\onshi-desk\onshi-desk 受付.lnk"
  Delete "$SMPROGRAMS\onshi-desk\onshi-desk デモ.lnk"
  Delete "$SMPROGRAMS\onshi-desk\アンインストール.lnk"
  RMDir "$SMPROGRAMS\onshi-desk"

  DeleteRegKey HKCU "${UNINST_KEY}"
  DeleteRegKey HKCU "Software\${APP}"

  StrCmp $Purge "1" 0 done
  RMDir /r "$APPDATA\${APP}"
  RMDir /r "$LOCALAPPDATA\${APP}"
  done:
SectionEnd
