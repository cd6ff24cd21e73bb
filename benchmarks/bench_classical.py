"""Classical methods on the held-out validation images: detector quality and fills.

Prints two markdown tables:

1. the classical detector's per-class precision, recall, F1 and IoU on
   synthesized defects, and its false-alarm rate on clean images;
2. the classical fills' PSNR / SSIM inside the mask and seconds per megapixel
   per mask family.

Run: ``python benchmarks/bench_classical.py`` (about a minute on 2 cores).
"""

from napari_mend.evaluation import detector, fill_cases, inpainter


def main() -> None:
    fills = ("telea", "ns", "biharmonic")
    det = detector.evaluate(methods=("classical",))
    print("## Classical detector (validation images, synthesized defects)\n")
    print(detector.markdown_table(det))
    fill = inpainter.evaluate(methods=fills)
    print("\n## Classical fills (validation crops, synthesized masks)\n")
    print(fill_cases.markdown_table(fill, fills))


if __name__ == "__main__":
    main()
