#!/usr/bin/env bash
# Lints and compiles every Bicep file with the Bicep CLI from NuGet; fails on any warning or error.
# Compiled templates go to .artifacts/bicep/ (main.json is read by InfrastructureTemplateTests).
# Usage: infra/lint.sh            (from anywhere; installs the CLI into .tools/nuget on first run)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bicep_version="0.49.2"
bicep="${repo_root}/.tools/nuget/azure.bicep.commandline.linux-x64/${bicep_version}/tools/bicep"
out_dir="${repo_root}/.artifacts/bicep"

if [[ ! -x "${bicep}" ]]; then
  echo "lint: installing Bicep CLI ${bicep_version} from NuGet into .tools/nuget"
  dotnet restore "${repo_root}/tools/bicep/bicep.csproj" --packages "${repo_root}/.tools/nuget" --verbosity quiet
  chmod +x "${bicep}"
fi

rm -rf "${out_dir}"
mkdir -p "${out_dir}/modules"
cd "${repo_root}/infra"

failed=0
diagnostics_file="$(mktemp)"
trap 'rm -f "${diagnostics_file}"' EXIT

# Bicep exits non-zero only on errors; warnings (and infos) only appear on stderr, so inspect what it printed.
run() {
  local label="$1"
  shift
  if ! "${bicep}" "$@" 2>"${diagnostics_file}"; then
    failed=1
  fi
  if grep -Eq ': (Warning|Error) ' "${diagnostics_file}"; then
    failed=1
  fi
  if [[ -s "${diagnostics_file}" ]]; then
    echo "lint: ${label}:" >&2
    cat "${diagnostics_file}" >&2
  fi
}

# --pattern handles many files per process (the CLI takes seconds to start); only infra/*.bicep and
# infra/modules/ are ours (infra/local/ holds the local stack and its node_modules).
for pattern in '*.bicep' 'modules/*.bicep'; do
  run "lint ${pattern}" lint --pattern "${pattern}"
  run "build ${pattern}" build --pattern "${pattern}" --outdir "${out_dir}/$(dirname "${pattern}")"
done
# The compiled parameters file would contain the PII key if it happened to be set here: compile without it.
unset ICRM_PII_KEY
for file in *.bicepparam; do
  run "build-params ${file}" build-params "${file}" --outfile "${out_dir}/${file%.bicepparam}.parameters.json"
done

if [[ "${failed}" -ne 0 ]]; then
  echo "lint: FAILED (see the diagnostics above)" >&2
  exit 1
fi
echo "lint: all Bicep files lint and build clean; compiled templates in .artifacts/bicep/"
