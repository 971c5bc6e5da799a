/**
 * The simulated `GET /config/v1/public/endpoints` catalogue: every endpointId the real API documents
 * (active) plus one inactive model.
 */

export interface CatalogueEndpoint {
  endpoint_id: string;
  endpoint_name: string;
  model_id: string;
  status: 'active' | 'inactive';
  streaming_supported: boolean;
  reasoning_efforts: string[];
  /** the fields below are listed live (a published contract run) but not read by the gateway */
  context_length: number;
  is_premium: boolean;
  fallback_endpoint_id: string | null;
}

const EFFORTS = ['low', 'medium', 'max'];

function ep(id: string, name: string, modelId: string, reasoning = false, status: 'active' | 'inactive' = 'active'): CatalogueEndpoint {
  return {
    endpoint_id: id,
    endpoint_name: name,
    model_id: modelId,
    status,
    streaming_supported: true,
    reasoning_efforts: reasoning ? [...EFFORTS] : [],
    context_length: 128_000,
    is_premium: false,
    fallback_endpoint_id: null,
  };
}

export const SIM_CATALOGUE: readonly CatalogueEndpoint[] = Object.freeze(
  [
    ep('predefined-openai-gpt4o', 'GPT-4o', 'gpt-4o'),
    ep('predefined-openai-gpt4o-mini', 'GPT-4o mini', 'gpt-4o-mini'),
    ep('predefined-openai-gpt4.1', 'GPT-4.1', 'gpt-4.1'),
    ep('predefined-openai-gpt4.1-mini', 'GPT-4.1 mini', 'gpt-4.1-mini'),
    ep('predefined-openai-gpt4.1-nano', 'GPT-4.1 nano', 'gpt-4.1-nano'),
    ep('predefined-openai-gpto3-mini', 'o3-mini', 'o3-mini', true),
    ep('predefined-openai-gpt5.2', 'GPT-5.2', 'gpt-5.2', true),
    ep('predefined-claude-3.7-sonnet', 'Claude 3.7 Sonnet', 'claude-3-7-sonnet', true),
    ep('predefined-claude-4-sonnet', 'Claude 4 Sonnet', 'claude-sonnet-4', true),
    ep('predefined-claude-4-opus', 'Claude 4 Opus', 'claude-opus-4', true),
    ep('predefined-claude-sonnet-4-6', 'Claude Sonnet 4.6', 'claude-sonnet-4-6', true),
    ep('predefined-claude-4-6-opus', 'Claude Opus 4.6', 'claude-opus-4-6', true),
    ep('predefined-claude-haiku-4-5', 'Claude Haiku 4.5', 'claude-haiku-4-5'),
    ep('predefined-gemini-2.0-flash', 'Gemini 2.0 Flash', 'gemini-2.0-flash'),
    ep('predefined-gemini-2.5-pro', 'Gemini 2.5 Pro', 'gemini-2.5-pro', true),
    ep('predefined-gemini-2.5-flash', 'Gemini 2.5 Flash', 'gemini-2.5-flash', true),
    ep('predefined-deepseek-v3', 'DeepSeek V3', 'deepseek-v3'),
    ep('predefined-deepseek-r1', 'DeepSeek R1', 'deepseek-r1', true),
    ep('predefined-xai-grok4', 'Grok 4', 'grok-4', true),
    ep('predefined-openai-gpt3.5-turbo', 'GPT-3.5 Turbo', 'gpt-3.5-turbo', false, 'inactive'),
  ].map((e) => Object.freeze(e)),
);

const ACTIVE_IDS = new Set(SIM_CATALOGUE.filter((e) => e.status === 'active').map((e) => e.endpoint_id));

/** Accepted by the query route: an active catalogue id, or a custom `byoi-` / `byom-` endpoint. */
export function isAcceptedEndpoint(endpointId: string): boolean {
  return ACTIVE_IDS.has(endpointId) || /^byo[im]-\S+$/.test(endpointId);
}

/** The `GET /config/v1/public/endpoints` body. */
export function catalogueBody(): { message: string; endpointsData: CatalogueEndpoint[] } {
  return { message: 'ok', endpointsData: SIM_CATALOGUE.map((e) => ({ ...e, reasoning_efforts: [...e.reasoning_efforts] })) };
}
