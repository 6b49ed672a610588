"""The registry: verified for the pinned moto, every fix explains itself and is tested next to its service's
tests, no two fixes patch the same attribute, moto is itself again after a sandbox."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

from sandbox import moto_fixes
from sandbox.account import Sandbox


def test_the_fixes_are_verified_for_the_pinned_moto() -> None:
    assert version("moto") == moto_fixes.MOTO_VERSION
    requirements = (Path(__file__).resolve().parents[3] / "requirements-dev.txt").read_text()
    assert f"=={moto_fixes.MOTO_VERSION}" in next(line for line in requirements.splitlines() if "moto[" in line)


def test_every_fix_says_what_moto_does_wrong_and_is_reverted_after_the_sandbox() -> None:
    assert all(len(fix.moto_behaviour) > 40 for fix in moto_fixes.FIXES.values())
    assert not any(fix.active for fix in moto_fixes.FIXES.values())


def test_moto_is_itself_again_after_a_sandbox() -> None:
    with Sandbox(cdk_out=None):
        pass
    for fix in moto_fixes.FIXES.values():
        for (owner, attribute), replacement in zip(fix.targets, fix.replacements, strict=True):
            assert vars(moto_fixes.resolve(owner)).get(attribute) is not replacement, (fix.name, owner)


def test_each_fix_is_tested_with_its_service() -> None:
    """A fix registered in sandbox/moto_fixes/<service>.py is suspended in test_<service>.py, here."""
    package = Path(moto_fixes.__file__).parent
    for module in package.glob("*.py"):
        registered = re.findall(r'^register\(\n\s+"([\w-]+)"', module.read_text(), re.M)
        if not registered:
            continue
        tests = (Path(__file__).parent / f"test_{module.name}").read_text()
        for name in registered:
            assert f'suspended("{name}"' in tests, (name, module.name)
    assert sum(len(re.findall(r"^register\(", m.read_text(), re.M)) for m in package.glob("*.py")) == len(
        moto_fixes.FIXES
    )


def test_no_two_fixes_patch_the_same_attribute() -> None:
    """So the order they are switched on in does not matter."""
    targets = [target for fix in moto_fixes.FIXES.values() for target in fix.targets]
    assert len(targets) == len(set(targets))
