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

    As `fit` does, it honours the model's compile settings:

    * `jit_compile`: each replica's forward and backward pass (and the
      evaluation pass) runs as one XLA-compiled function. The gradient
      all-reduce and the optimizer update stay outside it: XLA cannot
      compile a function that reaches the other replicas' variables or the
      collective ops between workers.
    * Loss scaling: the gradients are taken of `optimizer.scale_loss(loss)`,
      so that a `LossScaleOptimizer` (which `compile` puts around the
      optimizer of a `mixed_float16` model) receives scaled gradients and
      unscales them, skipping the update if any is not finite.
    """
    if not model.optimizer.built:
        # Its variables cannot be created inside the replicas' step.
        with strategy.scope():
            model.optimizer.build(model.trainable_variables)
    metrics = [m for m in model.metrics if m is not model._loss_tracker]
    loss_tracker = keras.metrics.Mean(name="loss")
    trackers = [loss_tracker] + metrics

    def forward(x, y, training):
        if not training:
            return model.compute_loss(x, y, model(x, training=False), training=False), []
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model.compute_loss(x, y, y_pred, training=True)
            # The loss itself is logged; the gradients are of the scaled loss.
            scaled = model.optimizer.scale_loss(loss)
        return loss, tape.gradient(scaled, model.trainable_variables)

    def replica_step(x, y, training):
        # Runs while `step` is traced, once per replica. Under XLA each
        # replica gets its own compiled function: a function traced on one
        # replica would capture that replica's variable copies and replica
        # id (its noise seeds), and every replica would reuse them.
        run = tf.function(forward, jit_compile=True) if model.jit_compile else forward
        loss, gradients = run(x, y, training)
        if training:
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
