"""The shared vocabulary: kinds, addresses, specs, desired and live state."""
