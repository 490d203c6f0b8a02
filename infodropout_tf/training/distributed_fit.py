"""`fit` for the mirrored and multi-worker strategies, as a custom loop."""

import keras
import tensorflow as tf


def fit_distributed(model, strategy, train, test, *, epochs, initial_epoch, steps_per_epoch,
                    validation_steps, callbacks):
    """Trains like `model.fit(train.repeat(), ...)` under `strategy`.

    Keras 3.15's `fit` misbehaves under both strategies: under
    MultiWorkerMirroredStrategy it fails, reducing its scalar logs across
    workers with `strategy.reduce("MEAN", v, axis=0)` ("Invalid reduction
    dimension 0 for input with 0 dimensions"); under MirroredStrategy it
    takes the first batch from the training iterator to build the model
    symbolically and never trains on it, so a run no longer sees the data of
    the same run on one device. This loop runs the same optimisation (the
    models' `compute_loss`, already scaled per replica) and calls the same
    callbacks with the same logs (`loss`, the metrics, and `val_` of each).
    """
    metrics = [m for m in model.metrics if m is not model._loss_tracker]
    loss_tracker = keras.metrics.Mean(name="loss")
    trackers = [loss_tracker] + metrics

    def replica_step(x, y, training):
        with tf.GradientTape() as tape:
            y_pred = model(x, training=training)
            loss = model.compute_loss(x, y, y_pred, training=training)
        if training:
            gradients = tape.gradient(loss, model.trainable_variables)
            model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    @tf.function
    def step(iterator, training):
        x, y = next(iterator)
        losses = strategy.run(replica_step, args=(x, y, training))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    def results():
        return {m.name: float(m.result()) for m in trackers}

    def reset():
        for tracker in trackers:
            tracker.reset_state()

    callback_list = keras.callbacks.CallbackList(callbacks, model=model)
    callback_list.on_train_begin()
    train_iterator = iter(strategy.experimental_distribute_dataset(train.repeat()))
    test_data = test.take(validation_steps) if validation_steps else test
    for epoch in range(initial_epoch, epochs):
        callback_list.on_epoch_begin(epoch)
        reset()
        for batch in range(steps_per_epoch):
            callback_list.on_train_batch_begin(batch)
            loss_tracker.update_state(step(train_iterator, True))
            callback_list.on_train_batch_end(batch, results())
        logs = results()
        reset()
        callback_list.on_test_begin()
        test_iterator = iter(strategy.experimental_distribute_dataset(test_data))
        for _ in range(int(test_data.cardinality())):
            loss_tracker.update_state(step(test_iterator, False))
        logs.update({f"val_{name}": value for name, value in results().items()})
        callback_list.on_test_end(logs)
        callback_list.on_epoch_end(epoch, logs)
    callback_list.on_train_end()
