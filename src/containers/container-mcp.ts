import { Injectable, Logger } from '@nestjs/common';
import { RunExecutor } from '../agent/run-executor';
import { errorMessage } from '../agent/sdk-run-executor';
import { checkManaged, containerNotRunning, mcpStatusUnavailable } from './containers.errors';
import { ContainerStates } from './container-states';
import { ContainersService } from './containers.service';
import { McpServerDto, McpStatusDto, McpTransport } from './dto/mcp-status.dto';

const TRANSPORTS: ReadonlySet<string> = new Set(Object.values(McpTransport));

/** The health of an environment's MCP servers, as a Claude Code process in its container reports it. */
@Injectable()
export class ContainerMcp {
  private readonly logger = new Logger(ContainerMcp.name);

  constructor(
    private readonly containers: ContainersService,
    private readonly states: ContainerStates,
    private readonly runner: RunExecutor,
  ) {}

  /**
   * The environment's MCP servers and their tools. A read never starts the container (409
   * CONTAINER_NOT_RUNNING); it asks a spare CLI when one is ready, else one started for the read.
   */
  async getStatus(env: string): Promise<McpStatusDto> {
    const info = await this.states.get(env);
    checkManaged(info);
    const name = this.containers.containerName(env);
    if (!info?.running) throw containerNotRunning(name);
    // Not held: a status poll must not keep an idle container from its stop.
    const reports = await this.runner.mcpServerStatus(name).catch((error: unknown) => {
      this.logger.warn(`The MCP status of ${name} could not be read: ${errorMessage(error)}`);
      throw mcpStatusUnavailable(name);
    });
    const servers: McpServerDto[] = reports
      // The CLI's own in-process and proxied servers are not the operator's to watch.
      .filter((report) => TRANSPORTS.has(report.transport))
      .map(({ transport, ...server }) => ({ ...server, type: transport as McpTransport }));
    return { env, servers };
  }
}
