import type { ApiPlugin } from '../deps.ts';
import { metricName, MetricsText, type ApiMetrics } from '../metrics.ts';
import { remoteLiveStats } from '../../relay/remote-live.ts';
import { remoteAnswerStats, remoteAnswersHeld } from '../../relay/remote-answer.ts';

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const GAUGE_STATS = /^(clients|connections|persistent|retained|queued|pending|subscriptions)/;

/** GET /metrics for Prometheus (an owner's or admin's token). */
export const metricsRoutes =
  (metrics: ApiMetrics): ApiPlugin =>
  async (app, { deps }) => {
    app.get('/metrics', { config: { access: 'admin' }, schema: {} }, async (_request, reply) => {
      const memory = process.memoryUsage();
      const loop = metrics.takeLoopDelay();
      const devices = deps.registry.counts();
      const text = new MetricsText()
        .add(
          'hearth_uptime_seconds',
          'gauge',
          'Seconds since the hub started.',
          Math.floor((deps.clock.now() - deps.startedAt) / 1000),
        )
        .add('process_resident_memory_bytes', 'gauge', 'Resident set size of the hub process.', memory.rss)
        .add('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use.', memory.heapUsed)
        .add('nodejs_heap_total_bytes', 'gauge', 'V8 heap allocated.', memory.heapTotal)
        .add('nodejs_eventloop_lag_seconds', 'gauge', 'Event loop delay since the previous scrape.', [
          [{ stat: 'mean' }, loop.mean],
          [{ stat: 'p99' }, loop.p99],
          [{ stat: 'max' }, loop.max],
        ])
        .add(
          'hearth_http_requests_total',
          'counter',
          'HTTP responses sent, by status code.',
          [...metrics.responses].sort(([a], [b]) => a - b).map(([status, n]) => [{ status: String(status) }, n]),
        )
        .add('hearth_devices', 'gauge', 'Devices known to the hub.', devices.total)
        .add('hearth_devices_available', 'gauge', 'Devices currently online.', devices.available)
        .add(
          'hearth_device_commands_pending',
          'gauge',
          'Commands waiting for a device to confirm.',
          devices.pendingCommands,
        );
      for (const [key, value] of Object.entries(deps.broker.stats())) {
        if (typeof value !== 'number') continue;
        // Figures describing the present (clients, sessions, queues) are gauges; all the broker's
        // other figures are running totals since start, so counters.
        const counter = !GAUGE_STATS.test(key);
        text.add(
          `hearth_broker_${metricName(key)}${counter ? '_total' : ''}`,
          counter ? 'counter' : 'gauge',
          `Broker statistic ${key}.`,
          value,
        );
      }
      const history = deps.history;
      if (history) {
        const c = history.ingest.counters;
        text
          .add(
            'hearth_history_samples_written_total',
            'counter',
            'Telemetry samples committed to the history store.',
            c.samples,
          )
          .add(
            'hearth_history_events_written_total',
            'counter',
            'Device events committed to the history store.',
            c.events,
          )
          .add(
            'hearth_history_dropped_total',
            'counter',
            'Samples and events lost because a batch could not be written.',
            c.dropped,
          )
          .add('hearth_history_flushes_total', 'counter', 'History batches committed.', c.flushes)
          .add(
            'hearth_history_failed_flushes_total',
            'counter',
            'History batches that failed to commit.',
            c.failedFlushes,
          )
          .add(
            'hearth_history_pending_rows',
            'gauge',
            'Rows in the open batch (what a power cut would lose).',
            history.ingest.pending,
          )
          .add('hearth_history_bytes', 'gauge', 'Estimated size of the history store.', history.storage.bytes())
          .add(
            'hearth_history_budget_bytes',
            'gauge',
            'The storage budget of the history store.',
            history.storage.budgetBytes,
          );
      }
      const exports = deps.recorder?.exportStats();
      if (exports) {
        text
          .add('hearth_recorder_exports_running', 'gauge', 'Playback/export ffmpegs running now.', exports.running)
          .add(
            'hearth_recorder_exports_running_max',
            'gauge',
            'The most playback/export ffmpegs that ran at once since start.',
            exports.runningMax,
          )
          .add('hearth_recorder_export_runs_total', 'counter', 'Playback/export ffmpegs started.', exports.runs)
          .add(
            'hearth_recorder_export_failures_total',
            'counter',
            'Playback/export ffmpegs that failed.',
            exports.failed,
          )
          .add(
            'hearth_recorder_export_cache_hits_total',
            'counter',
            'Playback/export requests answered with a file built (or being built) for the same range.',
            exports.cacheHits,
          )
          .add('hearth_recorder_exports_refused_total', 'counter', 'Playback/export requests refused, by reason.', [
            [{ reason: 'too_many_exports' }, exports.refusedBusy],
            [{ reason: 'export_storage_full' }, exports.refusedSpace],
          ])
          .add('hearth_recorder_export_bytes', 'gauge', 'Bytes the playback/export files take on disk.', exports.bytes);
      }
      const live = remoteLiveStats;
      text
        .add(
          'hearth_remote_live_streams_total',
          'counter',
          'Camera live views started through the relay.',
          live.streamsStarted,
        )
        .add(
          'hearth_remote_live_fragments_queued_total',
          'counter',
          'Live fragments queued for remote viewers.',
          live.fragmentsQueued,
        )
        .add(
          'hearth_remote_live_fragments_dropped_total',
          'counter',
          'Live fragments dropped for remote viewers that did not keep up (up to the next keyframe).',
          live.fragmentsDropped,
        )
        .add(
          'hearth_remote_live_queued_bytes_max',
          'gauge',
          'The most bytes one remote live view had queued at once since start.',
          live.queuedBytesMax,
        )
        .add(
          'hearth_remote_live_queue_limit_bytes',
          'gauge',
          'Bytes one remote live view may have queued.',
          deps.config.remote.liveQueueBytes,
        );
      const answers = remoteAnswerStats;
      text
        .add(
          'hearth_remote_answers_total',
          'counter',
          'Answers to remote requests streamed through the relay.',
          answers.answers,
        )
        .add(
          'hearth_remote_answer_body_bytes_total',
          'counter',
          'Body bytes of remote answers queued for the tunnel.',
          answers.bodyBytes,
        )
        .add(
          'hearth_remote_answers_refused_total',
          'counter',
          'Remote answers refused with remote_bytes_exceeded (over the session byte bound).',
          answers.refused,
        )
        .add(
          'hearth_remote_answer_held_bytes',
          'gauge',
          'Bytes remote answers hold right now (queued for the tunnel, or written and not read).',
          remoteAnswersHeld(),
        )
        .add(
          'hearth_remote_answer_held_bytes_max',
          'gauge',
          "The most bytes one remote session's answers held at once since start (queued, or written and not read).",
          answers.heldBytesMax,
        )
        .add(
          'hearth_remote_answer_session_limit_bytes',
          'gauge',
          "Bytes one remote session's answers may hold.",
          deps.config.remote.sessionAnswerBytes,
        )
        .add(
          'hearth_remote_answer_limit_bytes',
          'gauge',
          'Bytes all remote answers together may hold.',
          deps.config.remote.answerBytes,
        );
      return reply.type(CONTENT_TYPE).send(text.toString());
    });
  };
