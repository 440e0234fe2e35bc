/* Sub-commands of the landlord program. */
#ifndef LANDLORD_CLI_CLI_H
#define LANDLORD_CLI_CLI_H

/* `landlord run ...`: argv[0] is "run".  Returns the exit status. */
int cli_run(int argc, char **argv);

#endif
