"""Touch typing: keyboard layouts as data, the noisy channel of touches, a typing simulator."""
