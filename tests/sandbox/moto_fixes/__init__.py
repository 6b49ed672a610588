"""Each moto fix (sandbox/moto_fixes/<service>.py) has two tests in test_<service>.py: moto (pinned) is still
broken without it, and the fix works.

When a moto upgrade fixes something upstream, its `*_without_fix` test fails: delete the fix. When an
upgrade changes what a fix patches, its `*_with_fix` test fails. Either way nothing breaks silently.
"""
