import numpy as np

from napari_mend.synthesis import font_paths, render_text_mask


def test_font_paths_are_dejavu_ttf_files():
    paths = font_paths()
    assert any(p.name == "DejaVuSans.ttf" for p in paths)
    assert all(p.name.startswith("DejaVu") and p.suffix == ".ttf" and p.is_file() for p in paths)


def test_render_text_mask_places_anti_aliased_text():
    cov = render_text_mask((64, 128), "ID 1234", size=14, position=(10, 20))
    assert cov.shape == (64, 128) and cov.dtype == np.float32
    assert cov.max() == 1.0 and cov.min() == 0.0
    assert ((cov > 0) & (cov < 1)).any()  # anti-aliased edges
    rows, cols = np.nonzero(cov)
    assert rows.min() >= 10 and cols.min() >= 20
    assert rows.max() < 10 + 24 and cols.max() < 128


def test_render_text_mask_clips_and_rotates():
    clipped = render_text_mask((32, 32), "WATERMARK", size=20, position=(-5, 10))
    assert clipped.any() and clipped.shape == (32, 32)
    flat = render_text_mask((100, 100), "TEXT", size=16, position=(10, 10))
    upright = render_text_mask((100, 100), "TEXT", size=16, position=(10, 10), angle=90)
    r, c = np.nonzero(flat > 0.5)
    ru, cu = np.nonzero(upright > 0.5)
    assert np.ptp(c) > 2 * np.ptp(r)
    assert np.ptp(ru) > 2 * np.ptp(cu)


def test_font_choice_is_seeded():
    a = render_text_mask((40, 200), "Abc 123", rng=np.random.default_rng(3), size=16, position=(5, 5))
    b = render_text_mask((40, 200), "Abc 123", rng=np.random.default_rng(3), size=16, position=(5, 5))
    np.testing.assert_array_equal(a, b)


def test_every_font_renders_latin_text_and_symbols():
    for path in font_paths():
        cov = render_text_mask((40, 300), "Abc Xyz 0129 µm ©", size=20, position=(5, 5), font=path)
        assert cov.mean() > 0.03, path.name
