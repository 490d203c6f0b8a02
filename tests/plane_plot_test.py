"""The information-plane plot (`infodropout_tf.information.plane_plot`)."""

from infodropout_tf.information.plane_plot import plot_information_plane


def test_plot_lays_out_one_row_per_layer_with_its_ceiling(tmp_path):
    rows = [{"layer": layer, "estimator": estimator, "split": split, "epoch": epoch,
             "mutual_information_x": 1.0 + epoch, "mutual_information_y": 0.5,
             "relative_to_prior_constant": estimator == "closed_form_kl"}
            for layer, estimator in (("dense", "binning"), ("dense", "gaussian_mixture"),
                                     ("dropout", "closed_form_kl"))
            for split in ("train", "test") for epoch in (0, 1, 2)]
    path = tmp_path / "plane.png"
    figure = plot_information_plane(rows, str(path), ceilings={"dense": 4.6})
    assert path.read_bytes().startswith(b"\x89PNG")
    panels = [axis for axis in figure.axes if axis.get_label() != "<colorbar>"]
    assert [(axis.get_title(), axis.get_visible()) for axis in panels] == [
        ("dense: binning", True), ("dense: gaussian mixture", True),
        ("dropout: closed form kl", True), ("", False)]
    # The log n line in the first layer's panels only (a vertical line's
    # x-data is [x, x]), beside the train and test trajectories.
    ceilings = [[line.get_xdata()[0] for line in axis.lines if line.get_linestyle() == "--"]
                for axis in panels[:3]]
    assert ceilings == [[4.6], [4.6], []]
    assert "+ const" in panels[2].get_xlabel() and "+ const" not in panels[0].get_xlabel()
