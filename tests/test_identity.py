from watcher.identity import Identity


def test_addresses_aliases_and_plus_forms() -> None:
    me = Identity(["Me@Example.com", "alias@other.org"])
    assert me.is_me("me@example.com")
    assert me.is_me("ME@EXAMPLE.COM")
    assert me.is_me("alias@other.org")
    assert me.is_me("me+10d@example.com")
    assert not me.is_me("me@example.org")
    assert not me.is_me("someone+me@example.com")
    assert me.plus_tag("me+mute@example.com") == "mute"
    assert me.plus_tag("other+mute@example.com") is None
