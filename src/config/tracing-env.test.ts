import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { tracingSettings } from './tracing-env.js';

const base = { PRIVATE_KEY: 'client-key', ONDEMAND_APIKEYS: 'upstream-key' };
const settingsFor = (env: Record<string, string>) => tracingSettings(loadConfig({ ...base, ...env }));
const otlp = (url: string, protocol = 'http/protobuf') => ({ kind: 'otlp', protocol, url });

describe('tracingSettings: which OTEL_* settings turn tracing on', () => {
  it.each([
    ['nothing set', {}],
    ['only a service name', { OTEL_SERVICE_NAME: 'gw' }],
    ['only a protocol', { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }],
    ['exporter none', { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }],
    ['an empty exporter list', { OTEL_TRACES_EXPORTER: ' , ', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }],
    ['OTEL_SDK_DISABLED over an exporter', { OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }],
    ['OTEL_SDK_DISABLED over an endpoint', { OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }],
  ])('off: %s', (_name, env) => {
    expect(settingsFor(env)).toBeUndefined();
  });

  it.each([
    ['exporter otlp alone: the default endpoint', { OTEL_TRACES_EXPORTER: 'otlp' }, [otlp('http://localhost:4318/v1/traces')]],
    ['a base endpoint alone: otlp, with /v1/traces added', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }, [otlp('http://collector:4318/v1/traces')]],
    ['a base endpoint with a path', { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example/prefix' }, [otlp('https://otel.example/prefix/v1/traces')]],
    ['a traces endpoint alone: taken as it is', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom' }, [otlp('http://c:4318/custom')]],
    [
      'the traces endpoint over the base one',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/v1/traces' },
      [otlp('http://traces:4318/v1/traces')],
    ],
    ['http/json', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, [otlp('http://localhost:4318/v1/traces', 'http/json')]],
    [
      'the traces protocol over the general one',
      { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' },
      [otlp('http://localhost:4318/v1/traces')],
    ],
    ['console', { OTEL_TRACES_EXPORTER: 'console' }, [{ kind: 'console' }]],
    ['console and otlp, names in any case, none ignored', { OTEL_TRACES_EXPORTER: 'Console, OTLP, none' }, [{ kind: 'console' }, otlp('http://localhost:4318/v1/traces')]],
    ['an explicit list wins over an endpoint', { OTEL_TRACES_EXPORTER: 'console', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, [{ kind: 'console' }]],
  ])('on: %s', (_name, env, exporters) => {
    expect(settingsFor(env)?.exporters).toEqual(exporters);
  });

  it('defaults: the service name, parent-based always-on sampling, the SDK batch defaults, no message content', () => {
    expect(settingsFor({ OTEL_TRACES_EXPORTER: 'otlp' })).toEqual({
      exporters: [otlp('http://localhost:4318/v1/traces')],
      serviceName: 'ondemand-gateway',
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
      batch: {},
      attributeValueLengthLimit: undefined,
      captureMessageContent: false,
    });
  });

  it('reads the service name, sampler, batch knobs and the content opt-in', () => {
    const settings = settingsFor({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_SERVICE_NAME: 'edge-gw',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_BSP_EXPORT_TIMEOUT: '2000',
      OTEL_BSP_MAX_QUEUE_SIZE: '4096',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '256',
      OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '8192',
      OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true',
    });
    expect(settings).toMatchObject({
      serviceName: 'edge-gw',
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
      batch: { scheduledDelayMillis: 100, exportTimeoutMillis: 2000, maxQueueSize: 4096, maxExportBatchSize: 256 },
      attributeValueLengthLimit: 8192,
      captureMessageContent: true,
    });
  });

  it.each([
    ['an exporter that is not built in', { OTEL_TRACES_EXPORTER: 'otlp,zipkin' }, /OTEL_TRACES_EXPORTER: .*"zipkin"/],
    ['grpc', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /OTEL_EXPORTER_OTLP_PROTOCOL: .*grpc is not built in/],
    ['an endpoint that is not a URL', { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, /OTEL_EXPORTER_OTLP_ENDPOINT: expected an http\(s\) URL/],
    ['an unknown sampler', { OTEL_TRACES_SAMPLER: 'jaeger_remote' }, /OTEL_TRACES_SAMPLER/],
    ['a ratio above 1', { OTEL_TRACES_SAMPLER_ARG: '1.5' }, /OTEL_TRACES_SAMPLER_ARG/],
    ['a negative schedule delay', { OTEL_BSP_SCHEDULE_DELAY: '-1' }, /OTEL_BSP_SCHEDULE_DELAY/],
    ['a content switch that is not a boolean', { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'maybe' }, /OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT/],
  ])('a wrong setting stops the start, naming it: %s', (_name, env, message) => {
    expect(() => settingsFor(env)).toThrow(message);
  });
});
