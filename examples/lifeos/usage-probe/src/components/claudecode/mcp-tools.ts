/** What LifeOS's MCPToolsList does with the service's tool list: grouped, counted, listed. */
import { getMCPToolsByCategory, MCP_TOOLS, type MCPTool } from '@/lib/services/claudecode';

export interface ToolGroup {
  category: string;
  names: string[];
}

export function toolGroups(): { total: number; groups: ToolGroup[] } {
  const byCategory = getMCPToolsByCategory();
  const groups = Object.entries(byCategory).map(([category, tools]) => ({
    category,
    names: tools.map((tool: MCPTool) => tool.name),
  }));
  return { total: Object.values(byCategory).flat().length, groups };
}

/** The flat list, as a search box would filter it. */
export function findTools(text: string): MCPTool[] {
  const wanted = text.toLowerCase();
  return MCP_TOOLS.filter((tool) =>
    `${tool.name} ${tool.description}`.toLowerCase().includes(wanted),
  );
}
