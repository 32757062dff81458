"""The aiortc media relay and the commune-site agent (see issue: video between sites)."""
